/**
 * The charts' numbers (host/stats.ts over host/store/stream_hours.ts): alerts counted per stored
 * hour and log type as pages are stored, lag sampled at the end of runs, read back over a bounded
 * window with empty hours as zeros, every integration's day in one grouped read, and pruning.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { alertsLastDay, hourlyStats } from "../../host/stats.ts";
import type { PageWrite } from "../../host/store/mod.ts";
import { sqliteWithRuns } from "./store/_fixtures.ts";

const HOUR = 3_600_000;
/** 2026-11-26 12:34:56 UTC: inside an hour, not at its start. */
const NOW = Date.UTC(2026, 10, 26, 12, 34, 56);

/** The store on `clock` with integrations i1 and i2, each with a run going. */
const storeAt = (clock: { ms: number }) => sqliteWithRuns(clock);

let next = 0;
/** A page of `n` alerts per log type for an integration. */
function page(integrationId: string, perType: Record<string, number>): PageWrite {
  const alerts = Object.entries(perType).flatMap(([stream, n]) =>
    Array.from({ length: n }, () => {
      const id = `a${next++}`;
      return {
        id,
        stream,
        occurredAt: "2026-01-01T00:00:00Z",
        json: `{"id":"${id}"}`,
        summary: {},
      };
    })
  );
  return {
    integrationId,
    runId: `run-${integrationId}`,
    alerts,
    envelope: { prefix: '{"alerts":[', suffix: "]}" },
    batchSize: 100,
    checkpoint: {},
    invalid: [],
    listed: [],
    skipped: [],
    counts: { fetched: alerts.length, filtered: 0, invalid: 0, drift: 0 },
    notes: {},
  };
}

Deno.test("hourlyStats() counts alerts per stored hour and log type; empty hours are zeros; the window is bounded", async () => {
  const clock = { ms: NOW - 200 * HOUR }; // outside a week
  const store = await storeAt(clock);
  try {
    await store.storePage(page("i1", { url: 7 }));
    clock.ms = NOW - 5 * HOUR;
    await store.storePage(page("i1", { url: 2, attachment: 3 }));
    await store.storePage(page("i1", { url: 1 })); // the same hour adds up
    await store.storePage(page("i2", { url: 50 })); // another integration's
    clock.ms = NOW;
    await store.storePage(page("i1", { attachment: 4 }));

    const stats = await hourlyStats(store, "i1", { now: NOW, logTypes: ["impersonation"] });
    equal(stats.hours.length, 168);
    equal(stats.hours[167], "2026-11-26T12:00:00.000Z", "the last hour is the current one");
    equal(stats.hours[0], new Date(Date.UTC(2026, 10, 26, 12) - 167 * HOUR).toISOString());
    deepStrictEqual(stats.logTypes.map((s) => s.logType), ["attachment", "impersonation", "url"]);
    const [attachment, impersonation, url] = stats.logTypes;
    for (const s of stats.logTypes) {
      equal(s.alerts.length, 168);
      equal(s.lagSeconds.length, 168);
    }
    equal(url.alerts[162], 3);
    equal(attachment.alerts[162], 3);
    equal(attachment.alerts[167], 4);
    // Every other hour is a zero, including the week-old page's (before the window) and a log
    // type that was read but stored nothing.
    equal(url.alerts.reduce((a, b) => a + b), 3);
    equal(attachment.alerts.reduce((a, b) => a + b), 7);
    deepStrictEqual(impersonation.alerts, new Array(168).fill(0));
    deepStrictEqual(url.lagSeconds, new Array(168).fill(null));

    // A longer window reaches the old page; a window of one hour is only the current one.
    equal((await hourlyStats(store, "i1", { now: NOW, hours: 720 })).logTypes[1].alerts[519], 7);
    const hour = await hourlyStats(store, "i1", { now: NOW, hours: 1 });
    deepStrictEqual(hour.hours, ["2026-11-26T12:00:00.000Z"]);
    deepStrictEqual(hour.logTypes.map((s) => [s.logType, s.alerts]), [["attachment", [4]]]);
    // Asked for more than the retention, it stops at 720 hours.
    equal((await hourlyStats(store, "i1", { now: NOW, hours: 100_000 })).hours.length, 720);
  } finally {
    await store.close();
  }
});

Deno.test("noteLags() keeps each hour's largest lag per log type; hours without a run's end are null", async () => {
  const clock = { ms: NOW - 2 * HOUR };
  const store = await storeAt(clock);
  try {
    await store.hours.noteLags("i1", [{ logType: "url", lagSeconds: 300 }], clock.ms);
    await store.hours.noteLags("i1", [{ logType: "url", lagSeconds: 900 }], clock.ms + 60_000);
    await store.hours.noteLags("i1", [{ logType: "url", lagSeconds: 120 }], clock.ms + 120_000);
    await store.hours.noteLags("i1", [{ logType: "url", lagSeconds: 60 }], NOW);
    const [url] = (await hourlyStats(store, "i1", { now: NOW, hours: 3 })).logTypes;
    deepStrictEqual(url.lagSeconds, [900, null, 60]);
    deepStrictEqual(url.alerts, [0, 0, 0]);
  } finally {
    await store.close();
  }
});

Deno.test("alertsLastDay() gives every integration's 24 hours, log types summed, from one grouped read of a covering index", async () => {
  const clock = { ms: NOW - 30 * HOUR };
  const store = await storeAt(clock);
  try {
    await store.storePage(page("i1", { url: 9 })); // more than a day ago
    clock.ms = NOW - 23 * HOUR;
    await store.storePage(page("i1", { url: 2, attachment: 3 }));
    clock.ms = NOW;
    await store.storePage(page("i2", { url: 4 }));
    const day = await alertsLastDay(store, NOW);
    equal(day.from, "2026-11-25T13:00:00.000Z");
    const expected1 = new Array(24).fill(0);
    expected1[0] = 5;
    const expected2 = new Array(24).fill(0);
    expected2[23] = 4;
    deepStrictEqual(Object.fromEntries(day.byIntegration), { i1: expected1, i2: expected2 });

    // However many integrations: one range of the by-hour index, which holds every column read.
    const plan = (sql: string, ...params: number[]) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
        .map((r) => r.detail).join("; ");
    match(
      plan(
        `SELECT integration_id, hour_ms, SUM(alerts) AS alerts FROM stream_hours
         WHERE hour_ms >= ? AND hour_ms < ? GROUP BY integration_id, hour_ms`,
        0,
        1,
      ),
      /SEARCH stream_hours USING COVERING INDEX stream_hours_by_hour \(hour_ms>\? AND hour_ms<\?\)/,
    );
    // One integration's week: a range of the primary key, at most 168 rows per log type.
    match(
      plan(
        `SELECT log_type, hour_ms, alerts, lag_seconds FROM stream_hours
         WHERE integration_id = 'i1' AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms, log_type`,
        0,
        1,
      ),
      /SEARCH stream_hours USING PRIMARY KEY \(integration_id=\? AND hour_ms>\? AND hour_ms<\?\)/,
    );
  } finally {
    await store.close();
  }
});

Deno.test("the hours are pruned with the alerts' retention, and go with their integration", async () => {
  const clock = { ms: NOW - 31 * 24 * HOUR };
  const store = await storeAt(clock);
  try {
    await store.storePage(page("i1", { url: 1 }));
    clock.ms = NOW;
    await store.storePage(page("i1", { url: 1 }));
    await store.storePage(page("i2", { url: 1 }));
    const count = () =>
      Number((store.db.prepare("SELECT COUNT(*) AS n FROM stream_hours").get() as { n: number }).n);
    equal(count(), 3);
    equal(await store.hours.prune(NOW - 30 * 24 * HOUR), 1);
    equal(count(), 2);
    await store.deleteIntegration("i2");
    equal(count(), 1);
  } finally {
    await store.close();
  }
});
