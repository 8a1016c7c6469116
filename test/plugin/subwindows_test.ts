/**
 * A backlog read in sub-windows side by side (SPEC §3.2): every record handed out once, the calls
 * at the minimum for the split, checkpoints that claim only complete sub-windows, a crash at any
 * page resumed without loss, and no 429 of our own under a tight quota.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  failBody,
  generateRecords,
  json,
  MimecastSimulator,
} from "../../fixtures/simulator/mod.ts";
import { systemClock } from "../../host/clock.ts";
import { type Checkpoint, plugin } from "../../plugin/mod.ts";
import { MAX_SUB_WINDOWS, MIN_PAGES_PER_PART, splitPoints } from "../../plugin/subwindows.ts";
import { drive, FakeClock, newState, pluginContext, simConfig } from "../_helpers.ts";

const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const DAY = 86_400_000;
const LOG_TYPES = ["url", "attachment", "impersonation"] as const;
/** Records per log type: 33 pages, the first and 32 left, worth 4 sub-windows of 8 pages. */
const PER_TYPE = 3300;

/** A simulator holding `perType` records of each log type over the last 6 days. */
function backlog(perType: number, clock: { now: () => number }, options = {}) {
  const sim = new MimecastSimulator({ now: clock.now, ...options });
  const start = clock.now() - 6 * DAY;
  for (const logType of LOG_TYPES) {
    const stepMs = Math.floor((6 * DAY) / perType);
    sim.add(logType, generateRecords(logType, perType, { start, stepMs }));
  }
  return sim;
}

type Body = { data: Record<string, unknown>[]; meta: { pagination: { pageToken?: string } } };

/** The windows (distinct frozen filters) each log type was read in, and the pages of each. */
function windowsRead(sim: MimecastSimulator) {
  const windows = new Map<string, number>();
  for (const { path, body } of sim.bodies) {
    const key = `${path} ${JSON.stringify((body as Body).data[0])}`;
    windows.set(key, (windows.get(key) ?? 0) + 1);
  }
  return windows;
}

Deno.test("splitPoints() cuts what is left of a window into equal whole seconds after the listed one", () => {
  const listed = Date.UTC(2025, 2, 1, 0, 0, 0);
  deepStrictEqual(splitPoints(listed, listed + 1000 + 4 * 3_600_000, 4), [
    listed + 1000 + 3_600_000,
    listed + 1000 + 2 * 3_600_000,
    listed + 1000 + 3 * 3_600_000,
  ]);
  deepStrictEqual(splitPoints(listed, listed + 3000, 4), [listed + 2000], "no empty sub-window");
  deepStrictEqual(splitPoints(listed, listed + 1000, 4), []);
});

Deno.test("a backlog is read in sub-windows side by side: each record once, at the minimum of calls", async () => {
  const clock = new FakeClock(NOW);
  const sim = backlog(PER_TYPE, clock);
  const config = simConfig("2.0", { startFrom: "7d" });
  const state = await drive(newState(), { config, fetch: sim.fetch, clock });

  equal(state.alerts.length + state.filtered + state.invalid, 3 * PER_TYPE, "every record once");
  equal(state.duplicates, 0, "no record handed out twice in one run");
  const windows = windowsRead(sim);
  for (const logType of LOG_TYPES) {
    const mine = [...windows].filter(([key]) => key.includes(`/ttp/${logType}/`));
    equal(mine.length, MAX_SUB_WINDOWS, `${logType}: the window and 3 more sub-windows`);
    const calls = mine.reduce((sum, [, n]) => sum + n, 0);
    // One call a page; a sub-window's last page is rarely full, and the first sub-window reads
    // one page reaching into the next: at most one call per sub-window more than 33 pages.
    ok(calls >= 33 && calls <= 33 + MAX_SUB_WINDOWS, `${logType}: ${calls} calls`);
  }
  // No page was asked for twice: every (window, page token) pair is distinct.
  const asked = sim.bodies.map(({ path, body }) => JSON.stringify([path, body]));
  equal(new Set(asked).size, asked.length);
  // The cursors end at the window's end: the next run reads on from there.
  for (const logType of LOG_TYPES) {
    equal(state.checkpoint!.cursors[logType]!.time, "2025-03-04T11:59:00Z");
  }
});

Deno.test("without a totalCount, a backlog is split once its first pagination has read a few pages", async () => {
  const clock = new FakeClock(NOW);
  const sim = backlog(PER_TYPE, clock);
  const withoutTotal = async (input: RequestInfo | URL, init?: RequestInit) => {
    const answer = await sim.fetch(input, init);
    if (!String(input).includes("/get-logs")) return answer;
    const body = await answer.json();
    delete body.meta?.pagination?.totalCount;
    return json(answer.status, body);
  };
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d" });
  const state = await drive(newState(), { config, fetch: withoutTotal, clock });
  equal(state.alerts.length + state.filtered + state.invalid, PER_TYPE, "every record once");
  equal(windowsRead(sim).size, MAX_SUB_WINDOWS);
  const first = [...windowsRead(sim).values()][0];
  ok(first >= MIN_PAGES_PER_PART, `the first pagination read ${first} pages`);
  ok(sim.logCalls <= 33 + MAX_SUB_WINDOWS, `${sim.logCalls} calls`);
});

Deno.test("a window with a page or two is read as before: one pagination, no sub-window", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  sim.add("url", generateRecords("url", 150, { start: NOW - 3_600_000, stepMs: 10_000 }));
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d" });
  await drive(newState(), { config, fetch: sim.fetch, clock });
  equal(sim.logCalls, 2);
  equal(windowsRead(sim).size, 1);
});

Deno.test("concurrentCalls 1 reads a backlog page after page, at exactly one call a page", async () => {
  const clock = new FakeClock(NOW);
  const sim = backlog(PER_TYPE, clock);
  const config = simConfig("2.0", { startFrom: "7d", concurrentCalls: 1 });
  const state = await drive(newState(), { config, fetch: sim.fetch, clock });
  equal(state.alerts.length + state.filtered + state.invalid, 3 * PER_TYPE);
  equal(sim.logCalls, 99);
  equal(sim.peakConcurrent, 1);
});

Deno.test("each page's checkpoint claims only sub-windows complete before it, so a crash at any page loses nothing", async () => {
  const config = simConfig("2.0", { startFrom: "7d" });
  const everything = await allAlertIds(config, PER_TYPE);
  for (const crashAt of [1, 2, 5, 9, 14, 20, 27, 35, 60, 90]) {
    const clock = new FakeClock(NOW);
    const sim = backlog(PER_TYPE, clock);
    const before = await drive(newState(), {
      config,
      fetch: sim.fetch,
      clock,
      crashAfterPages: crashAt,
    });
    const after = await drive(before, { config, fetch: sim.fetch, clock });
    deepStrictEqual(new Set(after.alerts.map((a) => a.id)), everything, `crash after ${crashAt}`);
    equal(after.alerts.length, everything.size, "and each alert stored once");
  }
});

Deno.test("a checkpoint never moves past a sub-window that is still being read", async () => {
  const clock = new FakeClock(NOW);
  const sim = backlog(PER_TYPE, clock);
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d" });
  const ctx = pluginContext({ config, fetch: sim.fetch, clock });
  const handedOut: number[] = [];
  for await (const page of plugin.fetch(ctx)) {
    for (const r of page.records) handedOut.push(Date.parse(String(r.data.date)));
    const cursor = (page.checkpoint as Checkpoint).cursors.url!;
    const claimed = Date.parse(cursor.time);
    // Every record dated before the cursor's second has been handed out.
    const dates = new Set(handedOut.map((t) => Math.floor(t / 1000) * 1000));
    const stepMs = Math.floor((6 * DAY) / PER_TYPE);
    for (const record of generateRecords("url", PER_TYPE, { start: NOW - 6 * DAY, stepMs })) {
      const second = Math.floor(Date.parse(String(record.date)) / 1000) * 1000;
      if (second < claimed) {
        ok(dates.has(second), `${record.date} claimed before it was handed out`);
      }
    }
  }
  equal(handedOut.length, PER_TYPE);
});

Deno.test("a failing sub-window fails the log type at once; the checkpoint stays behind it", async () => {
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d" });
  const clock = new FakeClock(NOW);
  const sim = backlog(PER_TYPE, clock);
  const everything = await allAlertIds(config, PER_TYPE);
  // The 6th page call (the first page, then the sub-windows side by side) is refused, not retried.
  let calls = 0;
  const fetch = (input: RequestInfo | URL, init?: RequestInit) =>
    String(input).includes("/get-logs") && ++calls === 6
      ? Promise.resolve(json(200, failBody(400, "err_validation_blank", "Field to is invalid")))
      : sim.fetch(input, init);
  const state = newState();
  let error: unknown;
  try {
    await drive(state, { config, fetch, clock });
  } catch (e) {
    error = e;
  }
  ok(error instanceof Error && /Field to is invalid/.test(error.message), String(error));
  ok(calls < 12, `${calls} calls: the other sub-windows stopped`);
  const claimed = Date.parse(state.checkpoint!.cursors.url!.time);
  ok(claimed < NOW - 4 * DAY, "the cursor is still inside the first sub-window");
  const resumed = await drive(state, { config, fetch: sim.fetch, clock });
  deepStrictEqual(new Set(resumed.alerts.map((a) => a.id)), everything, "resumed without loss");
  equal(resumed.alerts.length, everything.size);
});

/** The alert ids of an uninterrupted first run over the backlog. */
async function allAlertIds(config: ReturnType<typeof simConfig>, perType: number) {
  const clock = new FakeClock(NOW);
  const state = await drive(newState(), { config, fetch: backlog(perType, clock).fetch, clock });
  return new Set(state.alerts.map((a) => a.id));
}

Deno.test("under a tight quota the streams pace themselves: no 429 of their own, every record once", async () => {
  // 6 calls in the quota, one back every 5 ms: less than 8 calls at once would take.
  const sim = backlog(PER_TYPE, systemClock, { rateLimit: { limit: 6, refillMs: 5 } });
  sim.latencyMs = 5;
  const config = simConfig("2.0", { startFrom: "7d" });
  const state = await drive(newState(), { config, fetch: sim.fetch, clock: systemClock });
  equal(state.alerts.length + state.filtered + state.invalid, 3 * PER_TYPE);
  equal(sim.quota!.refused, 0, "no call found the quota empty");
  ok(sim.peakConcurrent <= 8, `${sim.peakConcurrent} calls at once`);
  ok(sim.peakConcurrent > 3, "sub-windows did run side by side");
});

Deno.test("a 429 on one sub-window pauses every stream of the run until its reset", async () => {
  const sim = backlog(PER_TYPE, systemClock);
  sim.latencyMs = 2;
  const sent: number[] = [];
  let refusedAt = 0;
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    if (!String(input).includes("/get-logs")) return sim.fetch(input, init);
    sent.push(Date.now());
    if (sent.length === 30) {
      refusedAt = Date.now();
      return json(429, { detail: "Over throttling limit" }, {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "150",
      });
    }
    return await sim.fetch(input, init);
  };
  const config = simConfig("2.0", { startFrom: "7d" });
  const state = await drive(newState(), { config, fetch, clock: systemClock });
  equal(state.alerts.length + state.filtered + state.invalid, 3 * PER_TYPE);
  const during = sent.filter((t) => t > refusedAt + 5 && t < refusedAt + 140);
  deepStrictEqual(during, [], "no stream sent a call during the pause");
  ok(sent.some((t) => t >= refusedAt + 140), "and they went on after it");
});

Deno.test("a backlog larger than maxPagesPerRun is split only over what a run may read: nothing read twice", async () => {
  // 200 pages, 40 a run: sub-windows beyond what the run's pages reach would be read again by
  // the next run (a checkpoint claims only complete sub-windows), so the run does not start them.
  const n = 20_000;
  const stepMs = Math.floor((6 * DAY) / n);
  const simulator = (clock: FakeClock) => {
    const sim = new MimecastSimulator({ now: clock.now });
    sim.add("url", generateRecords("url", n, { start: NOW - 6 * DAY, stepMs }));
    return sim;
  };
  const whole = new FakeClock(NOW);
  const everything = await drive(newState(), {
    config: simConfig("2.0", { logTypes: ["url"], startFrom: "7d" }),
    fetch: simulator(whole).fetch,
    clock: whole,
  });
  const clock = new FakeClock(NOW);
  const sim = simulator(clock);
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d", maxPagesPerRun: 40 });
  let state = newState();
  let runs = 0;
  while (runs < 20 && state.checkpoint?.cursors.url?.time !== "2025-03-04T11:59:00Z") {
    state = await drive(state, { config, fetch: sim.fetch, clock });
    runs++;
    ok(sim.logCalls <= runs * 40, `run ${runs}: ${sim.logCalls} calls, at most 40 a run`);
  }
  equal(state.checkpoint!.cursors.url!.time, "2025-03-04T11:59:00Z", `caught up in ${runs} runs`);
  deepStrictEqual(
    new Set(state.alerts.map((a) => a.id)),
    new Set(everything.alerts.map((a) => a.id)),
    "every alert",
  );
  ok(runs <= 7, `${runs} runs for 200 pages at 40 a run`);
  ok(sim.logCalls <= 200 + runs * MAX_SUB_WINDOWS, `${sim.logCalls} calls for 200 pages`);
  ok(state.duplicates <= runs * 2 * 100, `${state.duplicates} records read twice`);
});
