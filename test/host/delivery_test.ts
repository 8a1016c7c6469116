import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import {
  Delivery,
  generateWebhookSecret,
  isWebhookSecret,
  retryAfterMs,
  signWebhook,
} from "../../host/delivery.ts";
import type { HostError } from "../../host/errors.ts";
import type { BatchRow, HostStore } from "../../host/store/mod.ts";
import { FakeClock, memoryLogger } from "../_helpers.ts";

Deno.test("signWebhook() produces what the reference Standard Webhooks verifier accepts", () => {
  const secret = generateWebhookSecret();
  equal(isWebhookSecret(secret), true);
  const body = JSON.stringify({ type: "mimecast.alerts", alerts: [{ id: "a" }] });
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signWebhook(secret, "msg_1", timestamp, body);
  const verified = new Webhook(secret).verify(body, {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  });
  equal((verified as { type: string }).type, "mimecast.alerts");
});

Deno.test("isWebhookSecret() wants whsec_ and at least 16 bytes of base64", () => {
  equal(isWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), true);
  equal(isWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), false);
  equal(isWebhookSecret("whsec_c2hvcnQ="), false);
  equal(isWebhookSecret("whsec_not base64!"), false);
});

Deno.test("retryAfterMs() reads seconds and HTTP dates", () => {
  const now = Date.UTC(2025, 0, 1);
  equal(retryAfterMs("7", now), 7000);
  equal(retryAfterMs(new Date(now + 30_000).toUTCString(), now), 30_000);
  equal(retryAfterMs("soon", now), undefined);
  equal(retryAfterMs(null, now), undefined);
});

/** A one-batch outbox that records what delivery writes back. */
function oneBatchStore() {
  const batch = { seq: 1, webhookId: "msg_1", body: "{}", alertCount: 1 } as BatchRow;
  const written = { attempts: [] as string[], dead: [] as string[] };
  const store = {
    nextPending: (_id: string, after = 0) =>
      after < batch.seq && written.dead.length === 0 ? batch : undefined,
    markDelivered: () => {},
    noteAttempt: (_seq: number, error: string) => void written.attempts.push(error),
    markDead: (_batch: BatchRow, error: string) => void written.dead.push(error),
  };
  return { store: store as unknown as HostStore, written };
}

Deno.test("a dead letter's last error names the real network cause and the host", async (t) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // accepts, never answers
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of silent) held.push(conn);
    } catch { /* closed */ }
  })();
  const silentPort = (silent.addr as Deno.NetAddr).port;
  const cases = [
    {
      name: "refused",
      url: `http://127.0.0.1:${closedPort}/hook`,
      error: `Cannot deliver batch to webhook at 127.0.0.1:${closedPort}: connection refused`,
    },
    {
      name: "timeout",
      url: `http://127.0.0.1:${silentPort}/hook`,
      error: `Cannot deliver batch to webhook at 127.0.0.1:${silentPort}: timed out after 200 ms`,
    },
  ];
  try {
    for (const c of cases) {
      await t.step(c.name, async () => {
        const { store, written } = oneBatchStore();
        const delivery = new Delivery({
          store,
          allowLoopback: true,
          clock: new FakeClock(0),
          logger: memoryLogger(),
          policy: { attempts: 2, timeoutMs: 200 },
        });
        const secret = generateWebhookSecret();
        await rejects(
          delivery.drain("int-1", () => Promise.resolve({ url: c.url, secret })),
          (e: HostError) => e.code === "DELIVERY_FAILED" && e.message.startsWith(c.error),
        );
        deepStrictEqual(written.attempts, [c.error, c.error]);
        deepStrictEqual(written.dead, [c.error]);
      });
    }
  } finally {
    silent.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});

Deno.test("batches to a receiver that answers with a body go over one kept-alive connection", async () => {
  let connections = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      requests++;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ accepted: true, note: "x".repeat(40_000) }));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const batches = Array.from(
    { length: 20 },
    (_, i) => ({ seq: i + 1, webhookId: `msg_${i}`, body: "{}", alertCount: 1 }) as BatchRow,
  );
  let delivered = 0;
  const store = {
    nextPending: (_id: string, after = 0) => batches.find((b) => b.seq > after),
    markDelivered: () => void delivered++,
    noteAttempt: () => {},
    markDead: () => {},
  } as unknown as HostStore;
  const delivery = new Delivery({
    store,
    allowLoopback: true,
    clock: new FakeClock(0),
    logger: memoryLogger(),
  });
  try {
    await delivery.drain("int-1", () => Promise.resolve({ url, secret: generateWebhookSecret() }));
    equal(delivered, 20);
    equal(requests, 20);
    // The answer read to its end frees the connection (a second may open while the first
    // settles back into the pool); cancelled unread, each batch took a new one (20).
    ok(connections <= 2, `${connections} connections for 20 batches`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
