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
import { call, integrationBody, type Rig, startFlags } from "./_hosts_rig.ts";
import { type Listening, sink, spawnListening } from "./_procs.ts";
import { burst, type Env, quiet, type ScaleOptions, startHost, steady } from "./_scale_phases.ts";
import { seedIntegrations } from "./_scale_seed.ts";
import { type Phase, report, type ScaleResult } from "./_scale_report.ts";

export type { ScaleOptions } from "./_scale_phases.ts";
type Sink = Awaited<ReturnType<typeof sink>>;

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
