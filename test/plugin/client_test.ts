import { deepStrictEqual, equal, match, rejects } from "node:assert/strict";
import type { Authenticator } from "../../plugin/auth.ts";
import { MimecastClient, type RetryPolicy } from "../../plugin/client.ts";
import { MimecastError } from "../../plugin/errors.ts";
import { MAX_RESPONSE_BYTES } from "../../plugin/http.ts";
import { FakeClock, memoryLogger } from "../_helpers.ts";

const PATH = "/api/ttp/url/get-logs";
const MIB = 1024 * 1024;
const noAuth: Authenticator = { headers: () => Promise.resolve({}), invalidate: () => false };

function client(
  fetch: typeof globalThis.fetch,
  options: { apiVersion?: "1.0" | "2.0"; retry?: Partial<RetryPolicy> } = {},
) {
  return new MimecastClient({
    baseUrl: "https://eu-api.mimecast.com",
    apiVersion: options.apiVersion ?? "2.0",
    auth: noAuth,
    fetch,
    clock: new FakeClock(Date.UTC(2025, 2, 4)),
    logger: memoryLogger(),
    signal: new AbortController().signal,
    retry: options.retry,
  });
}

/** A body made lazily, one chunk per read (nothing pulled ahead), that records what was read. */
function lazyBody(chunks: number, chunkBytes: number) {
  const seen = { pulled: 0, bytes: 0, cancelled: false };
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === chunks) return controller.close();
      seen.pulled++;
      seen.bytes += chunkBytes;
      controller.enqueue(chunk.slice());
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("post() refuses an answer past 16 MiB while streaming, cancels it, and does not retry", async () => {
  equal(MAX_RESPONSE_BYTES, 16 * MIB);
  const { stream, seen } = lazyBody(40, MIB); // a 40 MiB page, like the one that ended the host
  let calls = 0;
  const fetch = () => (calls++, Promise.resolve(new Response(stream)));
  await rejects(client(fetch, { retry: { attempts: 5 } }).post(PATH, {}), (e: MimecastError) => {
    equal(e.code, "TOO_LARGE");
    equal(e.retryable, false);
    match(
      e.message,
      /^Cannot read Mimecast's answer from \/api\/ttp\/url\/get-logs: it is larger than 16 MiB/,
    );
    match(e.hint, /checkpoint/);
    return true;
  });
  equal(seen.cancelled, true, "the body was cancelled");
  equal(seen.pulled, 17, "reading stopped at the first chunk past 16 MiB, not at 40");
  equal(calls, 1, "a retry would read the same page again");
});

Deno.test("post() refuses at once when Content-Length announces more than 16 MiB", async () => {
  const { stream, seen } = lazyBody(40, MIB);
  const fetch = () =>
    Promise.resolve(new Response(stream, { headers: { "Content-Length": String(40 * MIB) } }));
  await rejects(client(fetch).post(PATH, {}), (e: MimecastError) => {
    equal(e.code, "TOO_LARGE");
    match(e.message, /larger than 16 MiB \(it announced 41943040 bytes\)/);
    return true;
  });
  equal(seen.pulled, 0, "nothing was read");
  equal(seen.cancelled, true);
});

Deno.test("post() decodes UTF-8 right when a character is split across chunks", async () => {
  const subject = "Rechnung für Sie 🎣 — ½ € ✓";
  const bytes = new TextEncoder().encode(
    JSON.stringify({ meta: { status: 200 }, data: [{ clickLogs: [{ subject }] }], fail: [] }),
  );
  // One byte per chunk: every multi-byte character (2, 3 and 4 bytes here) is split.
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at === bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, ++at));
    },
  });
  const envelope = await client(() => Promise.resolve(new Response(stream))).post(PATH, {});
  deepStrictEqual(envelope.data, [{ clickLogs: [{ subject }] }]);
});

Deno.test("post() names the API application's role on API 2.0 and the service user's on 1.0 for 403", async (t) => {
  const forbidden = () => Promise.resolve(new Response("{}", { status: 403 }));
  const failForbidden = () =>
    Promise.resolve(Response.json({
      meta: { status: 403 },
      data: [],
      fail: [{ errors: [{ code: "err_forbidden", message: "Forbidden" }] }],
    }));
  for (const [name, fetch] of [["status 403", forbidden], ["fail[] forbidden", failForbidden]]) {
    await t.step(name as string, async () => {
      await rejects(
        client(fetch as typeof globalThis.fetch, { apiVersion: "2.0" }).post(PATH, {}),
        (e: MimecastError) => {
          equal(e.code, "FORBIDDEN");
          match(e.hint, /^On API 2\.0 the role belongs to the API application, not a user: /);
          match(e.hint, /Monitoring > URL Protection/);
          return true;
        },
      );
      await rejects(
        client(fetch as typeof globalThis.fetch, { apiVersion: "1.0" }).post(PATH, {}),
        (e: MimecastError) => {
          equal(e.code, "FORBIDDEN");
          match(e.hint, /service user's role/);
          equal(/API application/.test(e.hint), false, e.hint);
          return true;
        },
      );
    });
  }
});

Deno.test("post() keeps the network's own words: the host's named cause, or a bare fetch failure's cause", async () => {
  const named = () =>
    Promise.reject(
      new Error("Cannot connect to eu-api.mimecast.com: DNS lookup failed (name not found)"),
    );
  await rejects(client(named, { retry: { attempts: 1 } }).post(PATH, {}), (e: MimecastError) => {
    equal(e.code, "UNAVAILABLE");
    equal(
      e.message,
      "Cannot fetch /api/ttp/url/get-logs: Cannot connect to eu-api.mimecast.com: DNS lookup failed (name not found)",
    );
    return true;
  });
  const bare = () =>
    Promise.reject(
      new TypeError("fetch failed", {
        cause: new Error("tcp connect error: Connection refused (os error 111)"),
      }),
    );
  await rejects(client(bare, { retry: { attempts: 1 } }).post(PATH, {}), (e: MimecastError) => {
    equal(
      e.message,
      "Cannot fetch /api/ttp/url/get-logs: fetch failed: tcp connect error: Connection refused (os error 111)",
    );
    return true;
  });
});

Deno.test("post() says a call timed out after its time limit, waiting or while reading", async () => {
  const never: typeof fetch = (_input, init) =>
    new Promise((_, reject) =>
      init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason))
    );
  await rejects(
    client(never, { retry: { attempts: 1, timeoutMs: 50 } }).post(PATH, {}),
    (e: MimecastError) => {
      equal(e.code, "UNAVAILABLE");
      equal(e.retryable, true);
      equal(
        e.message,
        "Cannot fetch /api/ttp/url/get-logs: timed out after 50 ms waiting for eu-api.mimecast.com",
      );
      return true;
    },
  );
  // Headers arrive, the body stalls until the signal fires.
  const stalled: typeof fetch = (_input, init) =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          start(controller) {
            init!.signal!.addEventListener("abort", () => controller.error(init!.signal!.reason));
          },
        }),
      ),
    );
  await rejects(
    client(stalled, { retry: { attempts: 1, timeoutMs: 50 } }).post(PATH, {}),
    (e: MimecastError) => {
      match(e.message, /timed out after 50 ms reading the answer from eu-api\.mimecast\.com$/);
      return true;
    },
  );
});

Deno.test("post() does not retry an address the host's network rules refuse", async () => {
  let calls = 0;
  const denied = () => {
    calls++;
    return Promise.reject(
      Object.assign(new Error("[plugin mimecast] Cannot reach https://evil.example: not allowed"), {
        code: "NET_DENIED",
      }),
    );
  };
  const error = await client(denied).post(PATH, {}).catch((e) => e);
  equal(error instanceof MimecastError, true);
  equal(error.code, "NET_DENIED");
  equal(error.retryable, false);
  match(error.message, /Cannot reach https:\/\/evil\.example/);
  match(error.hint, /permissions\.net/);
  equal(calls, 1);
});
