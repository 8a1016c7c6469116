/**
 * The late-arrival guarantee (SPEC §3.6): a record that appears in Mimecast up to
 * `lateArrivalMinutes` (H) after its own date is delivered exactly once, whether its date falls
 * before, at or after the live cursor when it appears, on a busy or a quiet log type; later than
 * H it is not fetched. Mimecast calls stay within twice the minimum plus one call per log type
 * per run, and a backlog is read once. Each case prints a line; docs/reliability.md quotes them.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { generateRecords, MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import { alertId } from "../../plugin/normalize.ts";
import { parseMimecastDate } from "../../plugin/dates.ts";
import { MAX_SUB_WINDOWS } from "../../plugin/subwindows.ts";
import { drive, type DriveState, FakeClock, newState, simConfig } from "../_helpers.ts";

const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const MIN = 60_000;
const INTERVAL = 5 * MIN;
const H = 30; // the default lateArrivalMinutes

type Position = "before" | "at" | "after";

interface Case {
  lateMinutes: number;
  position: Position;
  busy: boolean;
  /** Crash right after the first stored page of the run that first sees the late record. */
  crash?: boolean;
}

const malicious = (r: Record<string, unknown>) => ({ ...r, scanResult: "malicious" });

/**
 * Runs every 5 minutes from NOW (for "at" and "after", none between the run whose window ends
 * at or just before the record's date and the record's appearance, so the cursor is still there
 * when it appears), until the late record is older than H plus two intervals.
 * Returns what was delivered, the Mimecast calls, and where the live cursor stood when the
 * record appeared.
 */
async function scenario(c: Case, lateArrivalMinutes = H) {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  sim.recordBodies = false;
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "1h", lateArrivalMinutes });
  const firstLiveRun = NOW + 2 * INTERVAL;
  // before: dated 90 s before the run that passes it; at: exactly where that run's window ends;
  // after: 30 s past that end, with no run until it has appeared.
  const date = firstLiveRun - { before: 90_000, at: 60_000, after: 30_000 }[c.position];
  const appears = date + c.lateMinutes * MIN;
  const end = appears + H * MIN + 2 * INTERVAL; // the same runs whatever lateArrivalMinutes is
  const onTime: number[] = [];
  if (c.busy) {
    const count = Math.floor((end - (NOW - 50 * MIN)) / 20_000);
    const records = generateRecords("url", count, { start: NOW - 50 * MIN, stepMs: 20_000 });
    for (const r of records) {
      const time = parseMimecastDate(String(r.date));
      onTime.push(time);
      sim.add("url", [malicious(r)], time);
    }
  }
  const [generated] = generateRecords("url", 1, { start: date, offset: 1_000_000 });
  const late = {
    ...malicious(generated),
    date: new Date(date).toISOString().replace(/\.\d{3}Z$/, "+0000"),
  };
  sim.add("url", [late], appears);

  const state = newState();
  let cursorWhenItAppeared: number | undefined;
  let runs = 0;
  let lastRun = NOW;
  let crashed = false;
  for (let at = NOW; at <= end; at += INTERVAL) {
    if (c.position !== "before" && at > firstLiveRun && at < appears + MIN) continue;
    if (cursorWhenItAppeared === undefined && at >= appears) {
      cursorWhenItAppeared = parseMimecastDate(state.checkpoint!.cursors.url!.time);
    }
    clock.ms = lastRun = at;
    runs++;
    const crash = c.crash && !crashed && at >= appears;
    await drive(state, {
      config,
      fetch: sim.fetch,
      clock,
      crashAfterPages: crash ? 1 : undefined,
    });
    if (crash) crashed = true;
  }
  const lateId = alertId("url", late);
  return {
    state,
    runs,
    calls: sim.logCalls,
    date,
    cursorWhenItAppeared: cursorWhenItAppeared!,
    lateDelivered: state.alerts.filter((a) => a.id === lateId).length,
    // Everything on time up to the last run's window end (now - lag); the window opens 1 h back.
    expectedOnTime: onTime.filter((t) => t >= NOW - 60 * MIN && t <= lastRun - MIN).length,
  };
}

function assertOnce(state: DriveState) {
  equal(new Set(state.alerts.map((a) => a.id)).size, state.alerts.length, "no id twice");
}

const CASES: Case[] = [];
for (const lateMinutes of [2, 5, 10, 20, 30]) {
  for (const position of ["before", "at", "after"] as const) {
    for (const busy of [true, false]) CASES.push({ lateMinutes, position, busy });
  }
}

Deno.test("a record up to H late is delivered exactly once, before, at or after the cursor, busy or quiet", async (t) => {
  for (const c of CASES) {
    const name = `${c.lateMinutes} min late, ${c.position} the cursor, ${
      c.busy ? "busy" : "quiet"
    }`;
    await t.step(name, async () => {
      const got = await scenario(c);
      const minimum = await scenario(c, 0);
      const second = Math.floor(got.date / 1000) * 1000;
      // The case is what it says: where the live cursor stood when the record appeared.
      if (c.position === "before") ok(got.cursorWhenItAppeared > second);
      if (c.position === "at") equal(got.cursorWhenItAppeared, second);
      if (c.position === "after") ok(got.cursorWhenItAppeared < second);
      equal(got.lateDelivered, 1, "the late record arrives once");
      assertOnce(got.state);
      // Every on-time record up to the last run's window arrives too, once.
      equal(got.state.alerts.length, got.expectedOnTime + 1);
      ok(
        got.calls <= 2 * minimum.calls + got.runs,
        `${got.calls} calls for a minimum of ${minimum.calls} over ${got.runs} runs`,
      );
      console.log(
        `late arrival: ${name}: delivered ${got.lateDelivered}×, ${got.state.alerts.length} alerts, ${got.calls} Mimecast calls (minimum ${minimum.calls}, ${got.runs} runs), ${got.state.duplicates} re-read duplicates dropped`,
      );
    });
  }
});

Deno.test("a late record survives a crash in the run that first reads it", async () => {
  for (const position of ["before", "after"] as const) {
    const got = await scenario({ lateMinutes: 10, position, busy: true, crash: true });
    equal(got.lateDelivered, 1);
    assertOnce(got.state);
  }
});

Deno.test("a record later than H is not fetched: the documented limit", async () => {
  for (const busy of [true, false]) {
    const got = await scenario({ lateMinutes: H + 15, position: "before", busy });
    equal(got.lateDelivered, 0);
    assertOnce(got.state);
    console.log(
      `late arrival: ${H + 15} min late (H = ${H}), ${busy ? "busy" : "quiet"}: not fetched`,
    );
  }
});

Deno.test("a backlog is read once: the first run over days makes the minimum of calls", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  sim.recordBodies = false;
  const config = simConfig("2.0", { logTypes: ["url"], startFrom: "7d" });
  sim.add("url", generateRecords("url", 5000, { start: NOW - 7 * 86_400_000, stepMs: 100_000 }));
  const state = await drive(newState(), { config, fetch: sim.fetch, clock });
  // 5,000 records, 100 a page: each page read once, read in sub-windows side by side, each of
  // which may end on a page that is not full (./subwindows_test.ts has the exact count).
  const first = sim.logCalls;
  ok(first >= 50 && first <= 50 + MAX_SUB_WINDOWS, `${first} calls`);
  const { time, settled } = state.checkpoint!.cursors.url!;
  equal(time, "2025-03-04T11:59:00Z");
  equal(settled, "2025-03-04T11:30:00Z"); // only the last H will be read again
  clock.advance(INTERVAL);
  await drive(state, { config, fetch: sim.fetch, clock });
  equal(sim.logCalls, first + 2); // the live window, and the 5 minutes that just became older than H
  equal(state.duplicates, 0);
});

Deno.test("a version 1 checkpoint resumes with its live cursor as the settled one", async () => {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  const config = simConfig("2.0", { logTypes: ["url"] });
  const state = newState();
  state.checkpoint = {
    version: 1,
    cursors: { url: { time: "2025-03-04T11:00:00Z", keys: [] } },
  } as unknown as DriveState["checkpoint"];
  await drive(state, { config, fetch: sim.fetch, clock });
  const bodies = sim.bodies.map((b) => (b.body as { data: Record<string, string>[] }).data[0]);
  deepStrictEqual(bodies.map((d) => [d.from, d.to]), [
    ["2025-03-04T11:00:00+0000", "2025-03-04T11:59:00+0000"],
  ]);
  deepStrictEqual(state.checkpoint!.cursors.url, {
    time: "2025-03-04T11:59:00Z",
    keys: [],
    settled: "2025-03-04T11:30:00Z",
  });
});
