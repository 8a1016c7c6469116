/**
 * What the plugin sandbox costs (host/sandbox): starting one (process + import of the real
 * bundle), and a page of 100 Mimecast records (fetch from the simulator + normalize) in-process
 * vs through the sandbox, and a 20 MiB response body streamed across vs read in-process.
 *
 *     deno run -A bench/sandbox_bench.ts [pages=200] [starts=10]
 */
import * as v from "valibot";
import { build } from "../build.ts";
import { generateRecords, MimecastSimulator } from "../fixtures/simulator/mod.ts";
import { startSandbox } from "../host/sandbox/mod.ts";
import type { Clock } from "../host/types.ts";
import { plugin } from "../plugin/mod.ts";

const PAGES = Number(Deno.args[0] ?? 200);
const STARTS = Number(Deno.args[1] ?? 10);
const NOW = Date.UTC(2025, 2, 4, 12, 0, 0);
const clock: Clock = { now: () => NOW, sleep: () => Promise.resolve() };
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const input = {
  apiVersion: "2.0",
  baseUrl: "http://127.0.0.1:9701",
  clientId: "sim-client-id",
  clientSecret: "sim-client-secret-value",
  logTypes: ["url"],
  startFrom: "7d",
  maxPagesPerRun: 100_000,
};
const config = v.parse(plugin.configSchema, input);

const dir = await Deno.makeTempDir({ prefix: "sandbox-bench-" });
await build({ outDir: new URL(`file://${dir}/`) });
const bundle = await Deno.readFile(`${dir}/plugin.js`);
await Deno.remove(dir, { recursive: true });

function simulator(): MimecastSimulator {
  const sim = new MimecastSimulator({ now: () => NOW });
  sim.recordBodies = false;
  sim.add(
    "url",
    generateRecords("url", PAGES * 100, { start: NOW - 6 * 86_400_000, stepMs: 2000 }),
  );
  return sim;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. Start: a process with a tiny plugin, and with the real bundle (170 KB) imported.
const tiny = await Deno.readFile(new URL("../fixtures/plugins/hostile/crash.js", import.meta.url));
const startMs: Record<string, number[]> = { tiny: [], mimecast: [] };
for (let i = 0; i < STARTS + 1; i++) {
  for (const [name, source] of [["tiny", tiny], ["mimecast", bundle]] as const) {
    const t0 = performance.now();
    const sandbox = await startSandbox({ pluginId: name, source });
    if (i > 0) startMs[name].push(performance.now() - t0); // the first start warms the cache
    await sandbox.close();
  }
}

// 2. Pages: fetch + normalize of 100 records each.
async function inProcess(): Promise<{ ms: number; pages: number; alerts: number; bytes: number }> {
  const sim = simulator();
  const ctx = {
    integrationId: "bench",
    config,
    checkpoint: null,
    fetch: sim.fetch,
    clock,
    logger: silent,
    signal: new AbortController().signal,
  };
  const nctx = { integrationId: "bench", config, count: () => {} };
  let pages = 0, alerts = 0, bytes = 0;
  const t0 = performance.now();
  for await (const page of plugin.fetch(ctx)) {
    pages++;
    bytes += JSON.stringify(page.records).length;
    for (const record of page.records) if (plugin.normalize(record, nctx)) alerts++;
  }
  return { ms: performance.now() - t0, pages, alerts, bytes };
}

/** Asks for the next page as soon as one is handed out, as run.ts's `readAhead` does. */
async function* readAhead<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]();
  let ahead = iterator.next();
  for (;;) {
    const step = await ahead;
    if (step.done) return;
    ahead = iterator.next();
    yield step.value;
  }
}

/**
 * Through the sandbox: `fetch` then `normalizePage` per page, or `normalizedPages` (fused),
 * optionally reading one page ahead; `runs` walks in one sandbox, the last one timed (a fresh
 * sandbox's code is not optimized yet: that is the cost a run pays, as each run starts one).
 */
async function sandboxed(
  options: { fused: boolean; ahead?: boolean; runs?: number; asRun?: boolean },
): Promise<{ ms: number; pages: number; alerts: number }> {
  const sim = simulator();
  await using sandbox = await startSandbox({
    pluginId: "mimecast",
    source: bundle,
    fetch: sim.fetch,
    clock,
  });
  const count = (results: unknown[]) =>
    results.filter((r) => r !== null && !("invalid" in (r as object))).length;
  const ctx = { integrationId: "bench", config, checkpoint: null };
  let last = { ms: 0, pages: 0, alerts: 0 };
  for (let run = 0; run < (options.runs ?? 1); run++) {
    let pages = 0, alerts = 0;
    const t0 = performance.now();
    if (options.fused) {
      // As run.ts reads: only the records that did not fit come back, 3 pages computed ahead.
      const stream = options.asRun
        ? sandbox.normalizedPages(ctx, { slim: true, ahead: 3 })
        : sandbox.normalizedPages(ctx);
      for await (const { normalized } of options.ahead ? readAhead(stream) : stream) {
        pages++;
        alerts += count(normalized.results);
      }
    } else {
      for await (const page of sandbox.fetch(ctx)) {
        pages++;
        const { results } = await sandbox.normalizePage(page.records, ctx);
        alerts += count(results);
      }
    }
    last = { ms: performance.now() - t0, pages, alerts };
  }
  return last;
}

await inProcess(); // warm-up
const a = await inProcess();
await sandboxed({ fused: false });
const variants = [
  ["fetch + normalizePage", await sandboxed({ fused: false })],
  ["normalizedPages (fused)", await sandboxed({ fused: true })],
  ["fused, one page read ahead", await sandboxed({ fused: true, ahead: true })],
  ["fused, 3rd run in one sandbox", await sandboxed({ fused: true, runs: 3 })],
  ["as a run reads (slim, 3 ahead)", await sandboxed({ fused: true, ahead: true, asRun: true })],
] as const;
for (const [name, x] of variants) {
  if (a.pages !== x.pages || a.alerts !== x.alerts) {
    throw new Error(`in-process and ${name} differ: ${JSON.stringify({ a, x })}`);
  }
}

// 3. A 20 MiB body read chunk by chunk by the ctx probe, in-process and across the boundary.
const SIZE = 20 * 1024 * 1024;
const file = new Uint8Array(SIZE).map((_, i) => i & 0xff);
const net: typeof fetch = (input) => {
  if (String(input instanceof Request ? input.url : input).endsWith("/echo")) {
    return Promise.resolve(Response.json({}));
  }
  let at = 0;
  return Promise.resolve(
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= SIZE) return controller.close();
          controller.enqueue(file.subarray(at, at + 64 * 1024));
          at += 64 * 1024;
        },
      }),
    ),
  );
};
const probeConfig = {
  deniedUrl: "https://files.example/denied",
  bigUrl: "https://files.example/big",
  echoUrl: "https://files.example/echo",
};
const probeUrl = new URL("../fixtures/plugins/hostile/ctx_probe.js", import.meta.url);
const probe = (await import(probeUrl.href)).plugin;
async function bigPageMs(pages: AsyncIterable<unknown>): Promise<number> {
  const iterator = pages[Symbol.asyncIterator]();
  await iterator.next(); // the "denied" page
  const t0 = performance.now();
  await iterator.next(); // the 20 MiB page
  const ms = performance.now() - t0;
  await iterator.return?.();
  return ms;
}
const probeCtx = {
  integrationId: "bench",
  config: probeConfig,
  checkpoint: null,
  fetch: net,
  clock,
  logger: silent,
  signal: new AbortController().signal,
};
const bigIn = await bigPageMs(probe.fetch(probeCtx));
const probeSandbox = await startSandbox({
  pluginId: "probe",
  source: await Deno.readFile(probeUrl),
  fetch: net,
  clock,
});
const bigOut = await bigPageMs(probeSandbox.fetch({ integrationId: "bench", config: probeConfig }));
await probeSandbox.close();

const us = (ms: number, n: number) => Math.round((ms * 1000) / n);
console.log(`Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`);
console.log(
  `start a sandbox (process + import), median of ${STARTS}: tiny plugin ${
    median(startMs.tiny).toFixed(0)
  } ms, Mimecast bundle (${Math.round(bundle.length / 1024)} KB) ${
    median(startMs.mimecast).toFixed(0)
  } ms`,
);
console.log(
  `page of 100 records (~${
    Math.round(a.bytes / a.pages / 1024)
  } KB of JSON), fetch + normalize, ${a.pages} pages, ${a.alerts} alerts:`,
);
console.log(`  ${"in-process".padEnd(42)} ${us(a.ms, a.pages)} µs/page`);
for (const [name, x] of variants) {
  console.log(
    `  ${`sandboxed, ${name}`.padEnd(42)} ${us(x.ms, x.pages)} µs/page (+${
      us(x.ms - a.ms, a.pages)
    } µs)`,
  );
}
console.log(
  `20 MiB body read in 64 KiB chunks: in-process ${bigIn.toFixed(0)} ms, sandboxed ${
    bigOut.toFixed(0)
  } ms (${(20 / (bigOut / 1000)).toFixed(0)} MiB/s)`,
);
