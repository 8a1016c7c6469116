import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { generateRecords, MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import { MimecastError } from "../../plugin/errors.ts";
import { drive, FakeClock, newState, simConfig } from "../_helpers.ts";

const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const HOUR = 3_600_000;

function setup(
  options: { apiVersion?: "2.0" | "1.0"; logTypes?: string[]; maxPageSize?: number } = {},
) {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now, maxPageSize: options.maxPageSize });
  const config = simConfig(options.apiVersion ?? "2.0", { logTypes: options.logTypes ?? ["url"] });
  return {
    clock,
    sim,
    config,
    run: (state = newState()) =>
      drive(state, { config, fetch: sim.fetch, clock, retry: { timeoutMs: 200 } }),
  };
}

Deno.test("fetch() sends the exact envelope: closed window with lag, oldest first, everything asked for", async () => {
  const { sim, run } = setup({ logTypes: ["url", "attachment", "impersonation"] });
  await run();
  const window = {
    from: "2025-03-03T12:00:00+0000",
    to: "2025-03-04T11:59:00+0000",
    oldestFirst: true,
  };
  deepStrictEqual(sim.bodies, [
    {
      path: "/api/ttp/url/get-logs",
      body: {
        meta: { pagination: { pageSize: 100 } },
        data: [{ ...window, scanResult: "all", route: "all" }],
      },
    },
    {
      path: "/api/ttp/attachment/get-logs",
      body: {
        meta: { pagination: { pageSize: 100 } },
        data: [{ ...window, result: "all", route: "all" }],
      },
    },
    {
      path: "/api/ttp/impersonation/get-logs",
      body: { meta: { pagination: { pageSize: 100 } }, data: [window] },
    },
  ]);
});

Deno.test("fetch() follows next with the filters frozen, one call per page", async () => {
  const { sim, run } = setup();
  sim.add("url", generateRecords("url", 250, { start: NOW - 2 * HOUR, stepMs: 100 }));
  const state = await run();
  equal(state.pages, 3);
  equal(state.alerts.length + state.filtered, 250);
  equal(sim.logCalls, 3);
  equal(sim.calls.get("/oauth/token"), 1);
  const [first, ...rest] = sim.bodies.map((b) =>
    b.body as { data: unknown[]; meta: { pagination: { pageToken?: string } } }
  );
  for (const body of rest) {
    deepStrictEqual(body.data, first.data);
    equal(typeof body.meta.pagination.pageToken, "string");
  }
});

Deno.test("fetch() ends on an empty page even when it carries next, and on both empty shapes", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now, trailingEmptyPage: true });
  sim.add("url", generateRecords("url", 100, { start: NOW - HOUR }));
  const state = await drive(newState(), {
    config: simConfig("2.0", { logTypes: ["url", "attachment"] }),
    fetch: sim.fetch,
    clock,
  });
  // url: a full page, then an empty page with data:[]; attachment: data:[{attachmentLogs:[]}].
  equal(sim.logCalls, 3);
  equal(state.pages, 3);
  equal(state.alerts.length + state.filtered, 100);
});

Deno.test("a re-run after success yields no duplicates, even for records sharing the cursor second", async () => {
  const { sim, run } = setup();
  sim.add("url", generateRecords("url", 30, { start: NOW - HOUR, stepMs: 100 })); // 10 per second
  const state = await run();
  const delivered = state.alerts.length;
  const again = await run(state);
  equal(again.alerts.length, delivered);
  equal(new Set(again.alerts.map((a) => a.id)).size, delivered);
});

Deno.test("records written late, inside the lag, arrive on the next run", async () => {
  const { sim, clock, run } = setup();
  const malicious = (r: Record<string, unknown>) => ({ ...r, scanResult: "malicious" });
  const at = (ms: number, i: number) =>
    generateRecords("url", 1, { start: ms - i * 1000, offset: i }).map(malicious);
  sim.add("url", [...at(NOW - HOUR, 1), ...at(NOW - HOUR + 1000, 2)]);
  sim.add("url", at(NOW - 10_000, 3)); // written on time, 10 s ago
  const state = await run();
  equal(state.alerts.length, 2); // the window ends 60 s before now
  sim.add("url", at(NOW - 30_000, 4)); // stamped 30 s ago, written only now
  clock.advance(5 * 60_000);
  await run(state);
  equal(state.alerts.length, 4);
});

Deno.test("a run resumed from a mid-pagination checkpoint delivers every record exactly once", async () => {
  const { sim, config, clock } = setup({ maxPageSize: 7 });
  sim.add(
    "url",
    generateRecords("url", 60, { start: NOW - HOUR, stepMs: 250 }).map((r) => ({
      ...r,
      scanResult: "malicious",
    })),
  );
  sim.inject({ kind: "fail", path: "/api/ttp/url/get-logs", times: 1 });
  const state = newState();
  // The fault hits the first call: nothing stored, no cursor.
  await rejects(drive(state, { config, fetch: sim.fetch, clock }), MimecastError);
  equal(state.checkpoint, null);
  // Let three pages through, then break the fourth call.
  let served = 0;
  const flaky: typeof fetch = (input, init) =>
    ++served === 4 + 1 /* +1: token */
      ? Promise.reject(new TypeError("connection reset"))
      : sim.fetch(input, init);
  await rejects(
    drive(state, { config, fetch: flaky, clock, retry: { attempts: 1 } }),
    MimecastError,
  );
  equal(state.pages, 3);
  equal(state.alerts.length, 21);
  await drive(state, { config, fetch: sim.fetch, clock });
  equal(state.alerts.length, 60);
  equal(new Set(state.alerts.map((a) => a.id)).size, 60);
});

Deno.test("fetch() waits out a 429 for X-RateLimit-Reset and goes on", async () => {
  const { sim, clock, run } = setup();
  sim.add("url", generateRecords("url", 10, { start: NOW - HOUR }));
  sim.inject({ kind: "429", resetMs: 1500, times: 2 });
  const state = await run();
  equal(state.alerts.length + state.filtered, 10);
  deepStrictEqual(clock.slept, [1500, 1500]);
});

Deno.test("fetch() retries 5xx, malformed JSON, retryable fail[] and timeouts with backoff", async () => {
  const { sim, clock, run } = setup();
  sim.add("url", generateRecords("url", 10, { start: NOW - HOUR }));
  sim.inject({ kind: "5xx", status: 502 });
  sim.inject({ kind: "malformed" });
  sim.inject({ kind: "fail-retryable" });
  sim.inject({ kind: "hang" });
  const state = await run();
  equal(state.alerts.length + state.filtered, 10);
  equal(clock.slept.length, 4);
  for (const [i, ms] of clock.slept.entries()) {
    const ceiling = 1000 * 2 ** i;
    equal(ms >= ceiling / 2 && ms <= ceiling, true, `backoff ${i}: ${ms}`);
  }
});

Deno.test("fetch() gives up after its retry budget with the error and its hint, and moves no cursor", async () => {
  const { sim, run } = setup();
  sim.add("url", generateRecords("url", 10, { start: NOW - HOUR }));
  sim.inject({ kind: "5xx", times: 50 });
  const state = newState();
  await rejects(run(state), (error: MimecastError) => {
    equal(error.code, "UNAVAILABLE");
    equal(error.status, 503);
    return true;
  });
  equal(sim.logCalls, 5);
  equal(state.checkpoint, null);
});

Deno.test("fetch() treats a 200 with fail[] as an error", async () => {
  const { sim, run } = setup();
  sim.inject({ kind: "fail" });
  await rejects(
    run(),
    (error: MimecastError) =>
      error.code === "REQUEST_REJECTED" && /err_validation_blank/.test(error.message),
  );
  equal(sim.logCalls, 1);
});

Deno.test("fetch() authenticates again once when the token expires mid-run", async () => {
  const { sim, run } = setup({ maxPageSize: 5 });
  sim.add("url", generateRecords("url", 12, { start: NOW - HOUR }));
  let calls = 0;
  const original = sim.fetch;
  const expiring: typeof fetch = (input, init) => {
    if (String(input).endsWith("get-logs") && ++calls === 2) sim.expireTokens();
    return original(input, init);
  };
  const clock = new FakeClock(NOW);
  const state = await drive(newState(), {
    config: simConfig("2.0", { logTypes: ["url"] }),
    fetch: expiring,
    clock,
  });
  equal(state.alerts.length + state.filtered, 12);
  equal(sim.calls.get("/oauth/token"), 2);
  void run;
});

Deno.test("fetch() maps Mimecast's refusals to errors with operator hints", async (t) => {
  const cases = [
    {
      kind: "401" as const,
      apiVersion: "1.0" as const,
      code: "AUTH_FAILED",
      hint: /access key, secret key/,
    },
    { kind: "403" as const, apiVersion: "2.0" as const, code: "FORBIDDEN", hint: /Monitoring/ },
    { kind: "404" as const, apiVersion: "2.0" as const, code: "NOT_FOUND", hint: /base URL/ },
    {
      kind: "418" as const,
      apiVersion: "1.0" as const,
      code: "BINDING_EXPIRED",
      hint: /Never Expire/,
    },
  ];
  for (const c of cases) {
    await t.step(`${c.kind} on API ${c.apiVersion}`, async () => {
      const { sim, run } = setup({ apiVersion: c.apiVersion });
      sim.inject({ kind: c.kind, times: 5 });
      await rejects(run(), (error: MimecastError) => {
        equal(error.code, c.code);
        equal(c.hint.test(error.hint), true, error.hint);
        return true;
      });
    });
  }
});

Deno.test("fetch() signs API 1.0 requests the simulator verifies", async () => {
  const { sim, run } = setup({ apiVersion: "1.0" });
  sim.add("url", generateRecords("url", 10, { start: NOW - HOUR }));
  const state = await run();
  equal(state.alerts.length + state.filtered, 10);
  equal(sim.calls.get("/oauth/token"), undefined);
});
