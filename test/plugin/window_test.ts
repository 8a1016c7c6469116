import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { generateRecords, MimecastSimulator } from "../../fixtures/simulator/mod.ts";
import { type Checkpoint, plugin } from "../../plugin/mod.ts";
import { FakeClock, pluginContext, simConfig } from "../_helpers.ts";
import type { FetchWindow } from "../../host/types.ts";

const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function setup(logTypes = ["url", "attachment"], extra: Record<string, unknown> = {}) {
  const clock = new FakeClock(NOW);
  const sim = new MimecastSimulator({ now: clock.now });
  const config = simConfig("2.0", { logTypes, ...extra });
  const live: Checkpoint = {
    version: 2,
    cursors: { url: { time: "2025-03-04T11:00:00Z", keys: [], settled: "2025-03-04T10:30:00Z" } },
  };
  const read = async (window: FetchWindow) => {
    const pages = [];
    const ctx = { ...pluginContext({ config, fetch: sim.fetch, clock }), window };
    // A backfill is handed no checkpoint; the live one must not matter even if it were.
    for await (const page of plugin.fetch({ ...ctx, checkpoint: structuredClone(live) })) {
      pages.push(page);
    }
    return pages;
  };
  return { clock, sim, read };
}

Deno.test("fetch() with a window reads exactly that span of the named log types and stops at its end", async () => {
  const { sim, read } = setup();
  // 300 url records, one a minute, from 2 days ago.
  const start = NOW - 2 * DAY;
  sim.add("url", generateRecords("url", 300, { start, stepMs: 60_000 }));
  sim.add("attachment", generateRecords("attachment", 10, { start, stepMs: 60_000 }));
  const from = start + 100 * 60_000;
  const to = start + 249 * 60_000;
  const pages = await read({ from: iso(from), to: iso(to), logTypes: ["url"] });

  const urls = pages.flatMap((p) => p.records);
  equal(urls.length, 150, "records 100 to 249, both ends included");
  for (const r of urls) equal(r.logType, "url");
  // One pagination, oldest first, bounded by the window, filters frozen.
  const bodies = sim.bodies.map((b) => b.body as { data: Record<string, unknown>[] });
  equal(sim.bodies.every((b) => b.path === "/api/ttp/url/get-logs"), true);
  equal(bodies.length, 2);
  deepStrictEqual(bodies[0].data, bodies[1].data);
  deepStrictEqual(bodies[0].data[0], {
    from: "2025-03-02T13:40:00+0000",
    to: "2025-03-02T16:09:00+0000",
    oldestFirst: true,
    scanResult: "all",
    route: "all",
  });
  // Progress ends at `to`; the checkpoint is an empty one, never the live cursor.
  deepStrictEqual(pages.at(-1)!.progress, { url: iso(to) });
  for (const page of pages) deepStrictEqual(page.checkpoint, { version: 2, cursors: {} });
});

Deno.test("fetch() with a window does no late-arrival pass and reads several log types", async () => {
  const { sim, read } = setup();
  const start = NOW - 3 * HOUR;
  sim.add("url", generateRecords("url", 5, { start, stepMs: 60_000 }));
  sim.add("attachment", generateRecords("attachment", 5, { start, stepMs: 60_000 }));
  const pages = await read({
    from: iso(start),
    to: iso(start + HOUR),
    logTypes: ["url", "attachment"],
  });
  equal(pages.flatMap((p) => p.records).length, 10);
  equal(sim.logCalls, 2, "one call per log type: the span is read once");
});

Deno.test("fetch() with a window names the part older than Mimecast keeps, and the part a page cap cut off", async () => {
  const { sim, read } = setup(["url"], { maxPagesPerRun: 1 });
  const start = NOW - 29 * DAY;
  sim.add("url", generateRecords("url", 250, { start, stepMs: 1000 }));
  const pages = await read({
    from: iso(NOW - 31 * DAY),
    to: iso(NOW - 28 * DAY),
    logTypes: ["url"],
  });
  equal(pages.length, 1);
  const skipped = pages[0].skipped ?? [];
  equal(skipped.length, 2);
  equal(skipped[0].from, iso(NOW - 31 * DAY));
  match(skipped[0].reason, /30 days/);
  match(skipped[1].reason, /start another backfill from here/);
  equal(skipped[1].to, iso(NOW - 28 * DAY));
});

Deno.test("fetch() with a window refuses rejections, whose SIEM files have no time span", async () => {
  const { read } = setup(["url", "rejections"]);
  await rejects(
    read({ from: iso(NOW - DAY), to: iso(NOW - HOUR), logTypes: ["rejections"] }),
    /Cannot replay the log type "rejections": it is read from Mimecast's SIEM files/,
  );
});

Deno.test("fetch() with a window of many pages reads it in sub-windows side by side, each record once", async () => {
  const { sim, read } = setup(["url"]);
  const start = NOW - 5 * DAY;
  sim.add("url", generateRecords("url", 3300, { start, stepMs: 60_000 }));
  const pages = await read({ from: iso(start), to: iso(NOW - DAY), logTypes: ["url"] });
  const keys = pages.flatMap((p) => p.records.map((r) => JSON.stringify(r.data)));
  equal(keys.length, 3300);
  equal(new Set(keys).size, 3300);
  const windows = new Set(sim.bodies.map((b) => JSON.stringify((b.body as Body).data[0])));
  equal(windows.size, 4, "the span and three more sub-windows");
  ok(sim.logCalls <= 33 + 4, `${sim.logCalls} calls`);
  deepStrictEqual(pages.at(-1)!.progress, { url: iso(NOW - DAY) });
});

type Body = { data: Record<string, unknown>[] };
