/**
 * Scale of one host (SPEC §6 "Scale", issue 14): one host process on its default SQLite store with
 * N integrations of the Mimecast plugin (default 1,000), each scheduled at an interval (default 5
 * minutes) and polling a simulator (its own process, 200 ms per call). A fraction of them (active,
 * default 10 %) poll a simulator where records keep arriving (one per log type every `--step` ms);
 * the rest (idle) poll one that has none. Every run is the scheduler's (nothing is started through
 * the API) and starts its own sandbox process, as in production.
 *
 * The host is started afresh for each phase over the same database, which the benchmark seeds while
 * the host is down (bench/_scale_seed.ts: when each integration last ran decides when it is due):
 * 1. empty: no integration; the host's own idle CPU and RSS;
 * 2. none due: N integrations that all ran just now; the scheduler ticking over them (CPU, RSS);
 * 3. idle runs: K idle integrations due at once (the scheduler runs 8 at a time): CPU per run;
 * 4. active runs: K active ones due at once: CPU per run, Mimecast calls and alerts per run;
 * 5. steady: every integration's last run spread over the past interval, so they come due one
 *    after another as in production, for S seconds: runs, CPU, peak RSS, and how many fell behind.
 * CPU is read from /proc (the host's own and its reaped sandboxes'), not from wall time: the
 * machine may be shared. The capacity is derived from CPU per run (bench/_scale_report.ts).
 *
 * `deno run -A bench/scale.ts [--integrations 1000] [--active 0.1] [--interval 300] [--latency 200]
 * [--step 1000] [--idle-runs 100] [--active-runs 25] [--quiet-seconds 20] [--steady-seconds 60]`
 * @module
 */
import { build, installInto } from "../build.ts";
import { type HostStore, sqliteStore } from "../host/store/mod.ts";
import { call, integrationBody, type Rig, spawnHosts, startFlags, until } from "./_hosts_rig.ts";
import { cpuSplit, type Listening, sampleTree, sink, spawnListening, treeRss } from "./_procs.ts";
import { type Seeded, seedIntegrations, setLastRun } from "./_scale_seed.ts";
import { type Phase, report, type ScaleResult } from "./_scale_report.ts";

/** What to measure; every field has the default the module doc gives. */
export interface ScaleOptions {
  integrations: number;
  activeShare: number;
  intervalSeconds: number;
  latencyMs: number;
  stepMs: number;
  idleRuns: number;
  activeRuns: number;
  quietSeconds: number;
  steadySeconds: number;
}

type Sink = Awaited<ReturnType<typeof sink>>;
interface Env {
  rig: Rig;
  dataDir: string;
  store: HostStore;
  o: ScaleOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startHost(env: { rig: Rig; dataDir: string }): Promise<Listening> {
  return (await spawnHosts(env.rig, 1, undefined, env.dataDir))[0];
}

/** Calls a simulator has answered so far: log pages and tokens. */
async function simCalls(sim: Listening): Promise<{ pages: number; tokens: number }> {
  const stats: Record<string, number> = await (await fetch(`${sim.url}/__stats`)).json();
  let pages = 0, tokens = 0;
  for (const [path, n] of Object.entries(stats)) {
    if (path.includes("token")) tokens += n;
    else pages += n;
  }
  return { pages, tokens };
}

/** The host left alone for `seconds` (after 3 s to settle): its CPU per second and its RSS. */
async function quiet(host: Listening, quietSeconds: number, name: string): Promise<Phase> {
  await sleep(3000);
  const cpu0 = await cpuSplit(host.child.pid);
  const t0 = performance.now();
  const sampler = sampleTree(host.child.pid);
  await sleep(quietSeconds * 1000);
  const peak = await sampler.stop();
  const seconds = (performance.now() - t0) / 1000;
  const { cpu, sandboxCpu } = cpuSince(cpu0, await cpuSplit(host.child.pid));
  const { mib, processes } = await treeRss(host.child.pid);
  return { name, seconds, cpu, sandboxCpu, runs: 0, rssMiB: mib, peakRssMiB: peak.mib, processes };
}

/** The CPU seconds spent between two readings: in all, and by the sandboxes. */
function cpuSince(a: { own: number; children: number }, b: { own: number; children: number }) {
  return { cpu: b.own + b.children - a.own - a.children, sandboxCpu: b.children - a.children };
}

const ended = (t: Awaited<ReturnType<HostStore["totals"]>>) =>
  (t.runsByStatus.succeeded ?? 0) + (t.runsByStatus.failed ?? 0) +
  (t.runsByStatus.cancelled ?? 0);

/** The mean wall time of the newest runs of `ids` that started after `since` and have ended. */
async function meanRunSeconds(store: HostStore, ids: string[], since: number): Promise<number> {
  const seconds: number[] = [];
  for (const id of ids) {
    const [run] = await store.listRuns(id, 1);
    if (run?.finishedAt && Date.parse(run.startedAt) >= since) {
      seconds.push((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000);
    }
  }
  return seconds.reduce((a, b) => a + b, 0) / Math.max(1, seconds.length);
}

/** `ids` made due at once; the host started and watched until their runs have ended. */
async function burst(env: Env, ids: string[], sim: Listening, name: string): Promise<Phase> {
  const { store, o } = env;
  await setLastRun(store, ids, () => Date.now() - 2 * o.intervalSeconds * 1000);
  const before = await store.totals();
  const calls0 = await simCalls(sim);
  const host = await startHost(env);
  try {
    const cpu0 = await cpuSplit(host.child.pid);
    const t0 = performance.now();
    const sampler = sampleTree(host.child.pid);
    let failed = 0;
    await until(
      async () => {
        const t = await store.totals();
        failed = (t.runsByStatus.failed ?? 0) - (before.runsByStatus.failed ?? 0);
        const pending = Object.values(t.outbox).reduce((sum, b) => sum + b.pending, 0);
        return ended(t) - ended(before) >= ids.length && !t.runsByStatus.running &&
          pending === 0 && (await treeRss(host.child.pid)).processes === 1;
      },
      60_000 + ids.length * 5_000,
      `${ids.length} scheduled runs (${name})`,
    );
    const seconds = (performance.now() - t0) / 1000;
    const { cpu, sandboxCpu } = cpuSince(cpu0, await cpuSplit(host.child.pid));
    const peak = await sampler.stop();
    const after = await store.totals();
    const calls = await simCalls(sim);
    const { mib } = await treeRss(host.child.pid);
    return {
      name,
      seconds,
      cpu,
      sandboxCpu,
      runs: ended(after) - ended(before),
      failed,
      meanRunSeconds: await meanRunSeconds(store, ids, 0),
      mimecastCalls: calls.pages - calls0.pages,
      tokenCalls: calls.tokens - calls0.tokens,
      records: after.records.fetched - before.records.fetched,
      alerts: after.records.delivered - before.records.delivered,
      rssMiB: mib,
      peakRssMiB: peak.mib,
      processes: peak.processes,
    };
  } finally {
    await host.kill();
  }
}

/** Every integration's last run spread over the past interval; the host polls for S seconds. */
async function steady(env: Env, seeded: Seeded): Promise<Phase> {
  const { store, o } = env;
  const all = [...seeded.active, ...seeded.idle];
  const interval = o.intervalSeconds * 1000;
  // Interleaved, so active and idle ones come due alike.
  const order = all.map((id, i) => ({ id, k: (i * 0.618034) % 1 })).sort((a, b) => a.k - b.k);
  const now = Date.now();
  await setLastRun(store, order.map((x) => x.id), (i) => now - ((i + 0.5) / all.length) * interval);
  const before = await store.totals();
  const host = await startHost(env);
  try {
    const cpu0 = await cpuSplit(host.child.pid);
    const t0 = performance.now();
    const sampler = sampleTree(host.child.pid);
    await sleep(o.steadySeconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const { cpu, sandboxCpu } = cpuSince(cpu0, await cpuSplit(host.child.pid));
    const peak = await sampler.stop();
    const after = await store.totals();
    // Behind: last ran more than the longest jittered interval (1.1×) and 10 s ago, not running.
    const late = Date.now() - 1.1 * interval - 10_000;
    const [rows, overview] = await Promise.all([store.listIntegrations(), store.overview()]);
    const behind = rows.filter((r) =>
      r.lastRunAt && Date.parse(r.lastRunAt) < late &&
      overview.get(r.id)?.lastRun?.status !== "running"
    ).length;
    const since = Date.now() - seconds * 1000;
    const { mib } = await treeRss(host.child.pid);
    return {
      name: "steady",
      seconds,
      cpu,
      sandboxCpu,
      runs: ended(after) - ended(before),
      failed: (after.runsByStatus.failed ?? 0) - (before.runsByStatus.failed ?? 0),
      behind,
      meanRunSeconds: await meanRunSeconds(store, all, since),
      activeRunSeconds: await meanRunSeconds(store, seeded.active, since),
      idleRunSeconds: await meanRunSeconds(store, seeded.idle, since),
      expectedRuns: all.length * o.steadySeconds / o.intervalSeconds,
      rssMiB: mib,
      peakRssMiB: peak.mib,
      processes: peak.processes,
    };
  } finally {
    await host.kill();
  }
}

/** Runs every phase; the simulators and the sink are started and stopped here. */
export async function measure(o: ScaleOptions): Promise<ScaleResult> {
  const dir = await Deno.makeTempDir({ prefix: "bench-scale-" });
  const rig: Rig = { dir, pluginDir: new URL(`file://${dir}/dist/`), flags: await startFlags() };
  const children: Listening[] = [];
  const webhook: Sink = await sink();
  let store: HostStore | undefined;
  try {
    await build({ outDir: rig.pluginDir });
    await installInto(`${dir}/plugins`, rig.pluginDir);
    // Records every `step` ms per log type, from one interval ago to an hour ahead (served once
    // their time has come, so active integrations find new ones at every run).
    const start = Date.now() - o.intervalSeconds * 1000;
    const count = Math.ceil((o.intervalSeconds + 3600) * 1000 / o.stepMs);
    const serve = (n: number) =>
      spawnListening([
        "run",
        "-A",
        "fixtures/simulator/serve.ts",
        ...["--generate", String(n), "--start", String(start), "--step", String(o.stepMs)],
        ...["--latency", String(o.latencyMs)],
      ]);
    const activeSim = await serve(count);
    children.push(activeSim);
    const idleSim = await serve(0);
    children.push(idleSim);
    const dataDir = `${dir}/data`;
    const phases: Phase[] = [];

    // 1. The host with nothing; and the two integrations every other is cloned from.
    let host = await startHost({ rig, dataDir });
    const templates: string[] = [];
    try {
      console.error("scale: empty host ...");
      phases.push(await quiet(host, o.quietSeconds, "empty"));
      for (const [name, url] of [["active", activeSim.url], ["idle", idleSim.url]]) {
        const body = integrationBody(`template ${name}`, url, webhook.url, {
          enabled: false,
          intervalSeconds: o.intervalSeconds,
        });
        templates.push(
          (await call(host.url, "/api/integrations", { method: "POST", json: body })).id,
        );
      }
    } finally {
      await host.kill();
    }
    store = sqliteStore(dataDir);
    const env: Env = { rig, dataDir, store, o };
    const [activeTemplate, idleTemplate] = await Promise.all(
      templates.map(async (id) => (await store!.getIntegration(id))!),
    );
    for (const id of templates) await store.deleteIntegration(id);
    const seeded = await seedIntegrations(store, {
      count: o.integrations,
      activeCount: Math.round(o.integrations * o.activeShare),
      activeTemplate,
      idleTemplate,
      intervalSeconds: o.intervalSeconds,
      now: Date.now(),
    });

    // 2. N integrations, none due.
    console.error(`scale: ${o.integrations} integrations, none due ...`);
    host = await startHost(env);
    try {
      phases.push(await quiet(host, o.quietSeconds, "none due"));
    } finally {
      await host.kill();
    }
    // 3 and 4. Bursts of due runs.
    console.error(`scale: ${o.idleRuns} idle runs, then ${o.activeRuns} active runs ...`);
    phases.push(await burst(env, seeded.idle.slice(0, o.idleRuns), idleSim, "idle runs"));
    phases.push(await burst(env, seeded.active.slice(0, o.activeRuns), activeSim, "active runs"));
    // 5. Polling at their intervals.
    if (o.steadySeconds > 0) {
      console.error(`scale: polling at their intervals, ${o.steadySeconds} s ...`);
    }
    if (o.steadySeconds > 0) phases.push(await steady(env, seeded));
    const cpus = (await Deno.readTextFile("/proc/cpuinfo")).match(/^processor/gm)?.length ?? 1;
    return { options: o, cores: cpus, phases, activeCount: seeded.active.length };
  } finally {
    store?.close();
    for (const c of children) await c.kill();
    webhook.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function arg(name: string, fallback: string): number {
  const i = Deno.args.indexOf(`--${name}`);
  return Number(i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback);
}

if (import.meta.main) {
  const options: ScaleOptions = {
    integrations: arg("integrations", "1000"),
    activeShare: arg("active", "0.1"),
    intervalSeconds: arg("interval", "300"),
    latencyMs: arg("latency", "200"),
    stepMs: arg("step", "1000"),
    idleRuns: arg("idle-runs", "100"),
    activeRuns: arg("active-runs", "25"),
    quietSeconds: arg("quiet-seconds", "20"),
    steadySeconds: arg("steady-seconds", "60"),
  };
  const started = performance.now();
  const result = await measure(options);
  console.log(`# bench/scale.ts, ${new Date().toISOString()}, Deno ${Deno.version.deno}\n`);
  console.log(report(result));
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
}
