import { equal, rejects } from "node:assert/strict";
import { hmacHeaders, signature, tokenAuthenticator } from "../../plugin/auth.ts";
import type { Api2Config } from "../../plugin/config.ts";
import { MimecastError } from "../../plugin/errors.ts";
import { MimecastSimulator, SIM_CLIENT } from "../../fixtures/simulator/mod.ts";
import { FakeClock, simConfig } from "../_helpers.ts";

// research/mimecast-api.md §2.1, cross-checked with Node crypto, Python hmac and openssl.
const VECTOR = {
  accessKey: "mYtOL3XZCOwG96BOiFTZRmN9Sx2tHfWw",
  secretKey: "dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5",
  applicationId: "app-id",
  applicationKey: "8b2d7a5c-3f1e-4a6b-9c0d-1e2f3a4b5c6d",
  date: "Tue, 24 Nov 2015 12:50:11 UTC",
  requestId: "8578FCFC-A305-4D9A-99CB-F4D5ECEFE297",
};

Deno.test("signature() matches the research's HMAC-SHA1 test vectors", async (t) => {
  const cases: [string, string][] = [
    ["/api/ttp/url/get-logs", "Im1SlkSG3Jhx8ifpV5JMNZcQBRw="],
    ["/api/ttp/attachment/get-logs", "S2EVB2Nxpyfewk0C3cru092ERTw="],
    ["/api/ttp/impersonation/get-logs", "XmpJHbpcOdoHhj/OBZbUj6aVD98="],
  ];
  for (const [uri, expected] of cases) {
    await t.step(uri, () => equal(signature({ ...VECTOR, uri }), expected));
  }
});

Deno.test("hmacHeaders() builds the MC authorization header and the signed x-mc headers", () => {
  const headers = hmacHeaders({ ...VECTOR, uri: "/api/ttp/url/get-logs" });
  equal(headers.Authorization, "MC mYtOL3XZCOwG96BOiFTZRmN9Sx2tHfWw:Im1SlkSG3Jhx8ifpV5JMNZcQBRw=");
  equal(headers["x-mc-date"], VECTOR.date);
  equal(headers["x-mc-req-id"], VECTOR.requestId);
  equal(headers["x-mc-app-id"], "app-id");
});

Deno.test("tokenAuthenticator() caches the token until 60 s before expiry", async () => {
  const clock = new FakeClock(Date.UTC(2025, 2, 4, 12));
  const sim = new MimecastSimulator({ now: clock.now });
  const auth = tokenAuthenticator(simConfig("2.0") as Api2Config, { fetch: sim.fetch, clock });
  const first = await auth.headers("/x");
  clock.advance(1799_000 - 61_000);
  equal((await auth.headers("/x")).Authorization, first.Authorization);
  equal(sim.calls.get("/oauth/token"), 1);
  clock.advance(2_000);
  const renewed = await auth.headers("/x");
  equal(renewed.Authorization === first.Authorization, false);
  equal(sim.calls.get("/oauth/token"), 2);
});

Deno.test("tokenAuthenticator() asked by several streams at once requests one token", async () => {
  const clock = new FakeClock(Date.UTC(2025, 2, 4, 12));
  const sim = new MimecastSimulator({ now: clock.now });
  const auth = tokenAuthenticator(simConfig("2.0") as Api2Config, { fetch: sim.fetch, clock });
  const headers = await Promise.all([auth.headers("/a"), auth.headers("/b"), auth.headers("/c")]);
  equal(new Set(headers.map((h) => h.Authorization)).size, 1);
  equal(sim.calls.get("/oauth/token"), 1);
});

Deno.test("tokenAuthenticator() fails with TOKEN_FAILED and the client-credentials hint on bad secrets", async () => {
  const clock = new FakeClock(Date.UTC(2025, 2, 4, 12));
  const sim = new MimecastSimulator({ now: clock.now });
  const auth = tokenAuthenticator(simConfig("2.0", { clientSecret: "wrong" }) as Api2Config, {
    fetch: sim.fetch,
    clock,
  });
  await rejects(auth.headers("/x"), (error: MimecastError) => {
    equal(error.code, "TOKEN_FAILED");
    equal(error.status, 401);
    equal(error.message.includes("wrong"), false);
    equal(/client ID and client secret/.test(error.hint), true);
    return true;
  });
  equal(SIM_CLIENT.clientSecret.length > 0, true);
});

Deno.test("tokenAuthenticator() reads a token answer only up to 1 MiB, and names a timeout", async () => {
  const clock = new FakeClock(Date.UTC(2025, 2, 4, 12));
  const config = simConfig("2.0") as Api2Config;
  let pulled = 0;
  let cancelled = false;
  const huge = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (++pulled > 64) return controller.close(); // 4 MiB at most, if nothing stopped it
      controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const big = tokenAuthenticator(config, {
    fetch: () => Promise.resolve(new Response(huge, { status: 200 })),
    clock,
  });
  await rejects(big.headers("/x"), (error: MimecastError) => {
    equal(error.code, "TOO_LARGE");
    equal(error.retryable, false);
    equal(
      error.message.startsWith(
        "Cannot read Mimecast's answer from /oauth/token: it is larger than 1 MiB",
      ),
      true,
      error.message,
    );
    return true;
  });
  equal(cancelled, true);
  equal(pulled, 17, "stopped at the first chunk past 1 MiB");

  const never: typeof fetch = (_input, init) =>
    new Promise((_, reject) =>
      init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason))
    );
  const slow = tokenAuthenticator(config, { fetch: never, clock, timeoutMs: 50 });
  await rejects(slow.headers("/x"), (error: MimecastError) => {
    equal(error.code, "UNAVAILABLE");
    equal(
      error.message,
      `Cannot get an OAuth token from ${config.baseUrl}/oauth/token: timed out after 50 ms waiting for the answer`,
    );
    return true;
  });
});
