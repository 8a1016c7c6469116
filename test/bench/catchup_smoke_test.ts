/**
 * A small run of the catch-up benchmark through real processes (simulator, host, sink): the
 * backlog is read in sub-windows side by side under a tight quota, every record gives its alert
 * once, Mimecast is called once a page plus at most one call per sub-window, and no call finds
 * the quota empty; read one page at a time, exactly one call a page. No timings are checked.
 */
import { equal, ok } from "node:assert/strict";
import { build } from "../../build.ts";
import { catchup } from "../../bench/catchup.ts";
import { MAX_SUB_WINDOWS } from "../../plugin/subwindows.ts";

const RECORDS = 3300; // 33 pages per log type: worth 4 sub-windows
const PAGES = 3 * 33;
const ALERTS = RECORDS / 2 + RECORDS / 2 + RECORDS; // url and attachment: half clean or safe

Deno.test("catch-up smoke: sub-windows side by side deliver every alert once, at the minimum of calls, with no 429", async () => {
  const dir = await Deno.makeTempDir({ prefix: "catchup-smoke-" });
  try {
    const pluginDir = new URL(`file://${dir}/dist/`);
    await build({ outDir: pluginDir });
    const side = await catchup({
      scenario: "side by side",
      rateLimit: "10/10",
      records: RECORDS,
      latencyMs: 5,
      pluginDir,
    });
    equal(side.runStatus, "succeeded");
    equal(side.alertsDelivered, ALERTS);
    equal(side.alertsUnique, ALERTS, "each alert once at the receiver");
    ok(
      side.mimecastCalls >= PAGES && side.mimecastCalls <= PAGES + 3 * MAX_SUB_WINDOWS,
      `${side.mimecastCalls} calls for ${PAGES} pages`,
    );
    equal(side.refused429, 0, "no call found the quota empty");
    ok(side.peakConcurrent > 3, `${side.peakConcurrent} calls at once: sub-windows side by side`);

    const one = await catchup({
      scenario: "one page at a time",
      rateLimit: "10/10",
      concurrentCalls: 1,
      records: RECORDS,
      latencyMs: 5,
      pluginDir,
    });
    equal(one.alertsUnique, ALERTS);
    equal(one.mimecastCalls, PAGES, "one call a page");
    equal(one.peakConcurrent, 1);
    equal(one.refused429, 0);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
