import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import net from "node:net";
import { HostError } from "../../host/errors.ts";
import { limitedFetch, pluginUrlProblem, webhookUrlProblem } from "../../host/net.ts";
import { NetworkError, networkFailure } from "../../host/net_errors.ts";
import { MimecastClient } from "../../plugin/client.ts";
import type { MimecastError } from "../../plugin/errors.ts";
import { FakeClock, memoryLogger } from "../_helpers.ts";

const NET = ["*.mimecast.com", "*.services.mimecast.com"];

Deno.test("plugins reach only https hosts in permissions.net; loopback only when allowed", () => {
  const ok = (url: string, loopback = false) =>
    pluginUrlProblem(new URL(url), NET, loopback) === undefined;
  equal(ok("https://api.services.mimecast.com/oauth/token"), true);
  equal(ok("https://eu-api.mimecast.com/api/ttp/url/get-logs"), true);
  equal(ok("http://eu-api.mimecast.com/"), false);
  equal(ok("https://evil.example/"), false);
  equal(ok("https://169.254.169.254/"), false);
  equal(ok("http://127.0.0.1:9000/"), false);
  equal(ok("http://127.0.0.1:9000/", true), true);
  equal(ok("http://localhost:9000/", true), true);
});

Deno.test("limitedFetch() refuses with NET_DENIED naming the plugin, and never follows redirects", async () => {
  let seen: RequestInit | undefined;
  const fake: typeof fetch = (_input, init) => {
    seen = init;
    return Promise.resolve(
      new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } }),
    );
  };
  const f = limitedFetch("mimecast", NET, false, fake);
  await rejects(
    f("https://attacker.example/"),
    (e: HostError) => e.code === "NET_DENIED" && e.message.startsWith("[plugin mimecast]"),
  );
  const response = await f("https://eu-api.mimecast.com/x", { method: "POST" });
  equal(response.status, 302);
  equal(seen?.redirect, "manual");
});

Deno.test("webhook URLs must be https, credential-free, and not link-local or metadata", () => {
  equal(webhookUrlProblem("https://siem.example.com/hook", false), undefined);
  equal(webhookUrlProblem("https://10.1.2.3/hook", false), undefined);
  equal(typeof webhookUrlProblem("http://siem.example.com/hook", false), "string");
  equal(typeof webhookUrlProblem("https://169.254.169.254/latest/meta-data", false), "string");
  equal(typeof webhookUrlProblem("https://[fe80::1]/", false), "string");
  equal(typeof webhookUrlProblem("https://metadata.google.internal/", false), "string");
  equal(typeof webhookUrlProblem("https://user:pass@siem.example.com/", false), "string");
  equal(typeof webhookUrlProblem("file:///etc/passwd", true), "string");
  equal(typeof webhookUrlProblem("not a url", false), "string");
  equal(typeof webhookUrlProblem("http://127.0.0.1:8000/", false), "string");
  equal(webhookUrlProblem("http://127.0.0.1:8000/", true), undefined);
});

// ── network failures named by their cause, against real local conditions ─────────────────────

/** A TCP server on 127.0.0.1 that hands each connection to `onConn`; `close` ends it all. */
function tcpServer(onConn: (conn: Deno.Conn) => void | Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        await onConn(conn);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await loop;
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    },
  };
}

/** A port nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The plugin's fetch as the host builds it, allowed to reach the given hosts and loopback. */
const pluginNet = (hosts: string[] = []) => limitedFetch("mimecast", hosts, true, fetch);

async function failure(promise: Promise<unknown>): Promise<NetworkError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof NetworkError) return error;
    throw error;
  }
  throw new Error("the request did not fail");
}

Deno.test("limitedFetch() names a closed port: connection refused, with the host", async () => {
  const port = closedPort();
  const error = await failure(pluginNet()(`http://127.0.0.1:${port}/`));
  equal(error.code, "NET_FAILED");
  equal(error.kind, "refused");
  equal(error.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
});

Deno.test("limitedFetch() names a server that accepts and closes, and one that resets", async () => {
  const closing = tcpServer((conn) => conn.close());
  try {
    const error = await failure(pluginNet()(`http://127.0.0.1:${closing.port}/`));
    equal(error.kind, "reset");
    equal(
      error.message,
      `Cannot connect to 127.0.0.1:${closing.port}: the server closed the connection before answering`,
    );
  } finally {
    await closing.close();
  }
  // A real RST (SO_LINGER 0) through node:net, which Deno.Conn cannot send.
  const resetting = net.createServer((socket) =>
    socket.once("data", () => socket.resetAndDestroy())
  );
  await new Promise<void>((resolve) => resetting.listen(0, "127.0.0.1", resolve));
  const { port } = resetting.address() as net.AddressInfo;
  try {
    const error = await failure(pluginNet()(`http://127.0.0.1:${port}/`));
    equal(error.kind, "reset");
    equal(error.message, `Cannot connect to 127.0.0.1:${port}: connection reset by the server`);
  } finally {
    await new Promise((resolve) => resetting.close(resolve));
  }
});

Deno.test("limitedFetch() names a TLS failure: https to a plain-HTTP server", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("plain"),
  );
  try {
    const error = await failure(pluginNet()(`https://127.0.0.1:${server.addr.port}/`));
    equal(error.kind, "tls");
    match(
      error.message,
      new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${server.addr.port}: TLS handshake failed`),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("limitedFetch() names a name that does not resolve: DNS lookup failed", async () => {
  const error = await failure(
    pluginNet(["does-not-exist.invalid"])("https://does-not-exist.invalid/api/ttp/url/get-logs"),
  );
  equal(error.kind, "dns");
  match(error.message, /^Cannot connect to does-not-exist\.invalid: DNS lookup failed \(/);
});

Deno.test("a server that never answers: the caller's timeout passes through limitedFetch and is named a timeout", async () => {
  const silent = tcpServer(() => {}); // accepts, reads nothing, answers nothing
  try {
    const url = `http://127.0.0.1:${silent.port}/`;
    const thrown = await pluginNet()(url, { signal: AbortSignal.timeout(200) }).catch((e) => e);
    // The caller's own signal fired: the caller words it (it knows its limit), so it is untouched.
    equal(thrown instanceof DOMException && thrown.name === "TimeoutError", true, String(thrown));
    deepStrictEqual(networkFailure(thrown, { timeoutMs: 200 }), {
      kind: "timeout",
      detail: "timed out after 200 ms",
    });
  } finally {
    await silent.close();
  }
});

Deno.test("networkFailure() leaves what is not a network failure alone", () => {
  equal(networkFailure(new TypeError("Invalid URL: 'nope'")), undefined);
  equal(networkFailure(new DOMException("cancelled", "AbortError")), undefined);
  equal(networkFailure(new HostError("NET_DENIED", "no")), undefined);
});

Deno.test("the plugin's client reports the host's named cause on UNAVAILABLE", async () => {
  const port = closedPort();
  const client = new MimecastClient({
    baseUrl: `http://127.0.0.1:${port}`,
    apiVersion: "1.0",
    auth: { headers: () => Promise.resolve({}), invalidate: () => false },
    fetch: pluginNet(),
    clock: new FakeClock(0),
    logger: memoryLogger(),
    signal: new AbortController().signal,
    retry: { attempts: 1 },
  });
  await rejects(client.post("/api/ttp/url/get-logs", {}), (e: MimecastError) => {
    equal(e.code, "UNAVAILABLE");
    equal(
      e.message,
      `Cannot fetch /api/ttp/url/get-logs: Cannot connect to 127.0.0.1:${port}: connection refused`,
    );
    return true;
  });
});
