/**
 * The phases of bench/scale.ts, each on a fresh start of the host over the same database: the host
 * left alone, a burst of due runs watched until they end, and a steady stretch at the intervals.
 * CPU is the host's own and its reaped sandboxes' (/proc).
 * @module
 */
import type { HostStore } from "../host/store/mod.ts";
import { type Rig, spawnHosts, until } from "./_hosts_rig.ts";
import { cpuSplit, type Listening, sampleTree, treeRss } from "./_procs.ts";
import { type Seeded, setLastRun } from "./_scale_seed.ts";
import type { Phase } from "./_scale_report.ts";

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

/** What every phase shares. */
export interface Env {
  rig: Rig;
  dataDir: string;
  store: HostStore;
  o: ScaleOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the host over the benchmark's database and waits for its plugin. */
export async function startHost(env: { rig: Rig; dataDir: string }): Promise<Listening> {
  return (await spawnHosts(env.rig, 1, undefined, env.dataDir))[0];
}

/** Calls a simulator has answered so far: log pages and tokens. */
async function simCalls(sim: Listening): Promise<{ pages: number; tokens: number }> {
  const stats: Record<string, number> = await (await fetch(`${sim.url}/__stats`)).json();
  let pages = 0, tokens = 0;
  for (const [path, n] of Object.entries(stats)) {
    if (!path.startsWith("/")) continue; // the simulator's own figures (__refused, ...)
    if (path.includes("token")) tokens += n;
    else pages += n;
  }
  return { pages, tokens };
}

/** The host left alone for `seconds` (after 3 s to settle): its CPU per second and its RSS. */
export async function quiet(host: Listening, quietSeconds: number, name: string): Promise<Phase> {
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
export async function burst(env: Env, ids: string[], sim: Listening, name: string): Promise<Phase> {
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
export async function steady(env: Env, seeded: Seeded): Promise<Phase> {
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
