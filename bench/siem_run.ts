/**
 * One pass of the plugin over the simulator's SIEM stream, in its own process so its memory is
 * its own: `deno run -A bench/siem_run.ts <simulator url> <1.0|2.0>`. Reads every page of the
 * `rejections` log type through the plugin's `fetch`, normalizes every event, and prints one
 * JSON line: events, alerts, seconds, peak RSS and peak V8 heap in use (sampled every 20 ms).
 * @module
 */
import * as v from "valibot";
import { SIM_CLIENT, SIM_KEYS } from "../fixtures/simulator/mod.ts";
import { configSchema } from "../plugin/config.ts";
import { plugin } from "../plugin/mod.ts";

const [baseUrl, apiVersion] = Deno.args;
const config = v.parse(configSchema, {
  apiVersion,
  baseUrl,
  ...(apiVersion === "1.0" ? SIM_KEYS : SIM_CLIENT),
  logTypes: ["rejections"],
  startFrom: "7d",
  maxPagesPerRun: 100_000,
});
let peak = Deno.memoryUsage().rss;
let peakHeap = Deno.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const { rss, heapUsed } = Deno.memoryUsage();
  peak = Math.max(peak, rss);
  peakHeap = Math.max(peakHeap, heapUsed);
}, 20);
const quiet = () => {};
const ctx = {
  integrationId: "bench",
  config,
  checkpoint: null,
  fetch,
  clock: {
    now: Date.now,
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  },
  logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  signal: new AbortController().signal,
};
const normalizeCtx = { integrationId: "bench", config, count: quiet };
let events = 0;
let alerts = 0;
const started = performance.now();
for await (const page of plugin.fetch(ctx)) {
  for (const record of page.records) {
    events++;
    if (plugin.normalize(record, normalizeCtx)) alerts++;
  }
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, Deno.memoryUsage().rss);
console.log(JSON.stringify({
  events,
  alerts,
  seconds,
  peakRssMiB: peak / 1024 / 1024,
  peakHeapMiB: peakHeap / 1024 / 1024,
}));
