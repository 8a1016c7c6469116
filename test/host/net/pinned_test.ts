/**
 * Pinned clients under concurrent requests (host/net/pinned.ts): the log types of a run share
 * one client, and the idle time of one request must never close it under the others. Before,
 * each request's idle timer replaced the last without clearing it, and the orphaned timer closed
 * the client in the middle of a backlog: every request after that opened a new connection.
 */
import { equal, ok } from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PinnedClients } from "../../../host/net/pinned.ts";

Deno.test("concurrent requests keep their pinned client and its connections past the idle time", async () => {
  let connections = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      // Answers at different speeds, so the streams' requests overlap and end apart.
      const delay = request.url === "/slow" ? 40 : 5;
      setTimeout(() => response.end("ok"), delay);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const pinned = new PinnedClients({ idleMs: 60 });
  try {
    // Three streams, each one request after another, for about 0.6 s: ten idle times.
    const stream = async (path: string) => {
      const end = Date.now() + 600;
      let requests = 0;
      while (Date.now() < end) {
        const response = await pinned.fetch(["127.0.0.1"], `http://127.0.0.1:${port}${path}`);
        equal(await response.text(), "ok");
        requests++;
      }
      return requests;
    };
    const counts = await Promise.all([stream("/slow"), stream("/fast"), stream("/fast")]);
    ok(counts.every((n) => n >= 5), `requests per stream: ${counts}`);
    // One connection per stream at most (the pool may open one per request in flight).
    ok(
      connections <= 3,
      `${connections} connections for ${counts.reduce((a, b) => a + b)} requests`,
    );
  } finally {
    pinned.close();
    server.closeAllConnections();
    server.close();
  }
});
