/**
 * Scale benchmark (SPEC §6 "Scale", §5.7): hosts as real processes on one throwaway PostgreSQL
 * (test/_postgres.ts), the simulator in its own process with a per-call latency, a webhook sink.
 *
 * 1. Throughput with 1, 2 and 3 hosts: the same workload each time (I integrations, 3 log types × N
 *    records each), their runs started through the API of alternating hosts (or, with
 *    `--schedule`, enabled through them and left to the schedulers); wall time until every alert
 *    has arrived, alerts/s, the hosts that ran the runs, each host's CPU seconds (its own and its
 *    sandboxes') and peak RSS (the host and its sandboxes together).
 * 2. What one host carries: idle (0, 100, 300 integrations scheduled with a long interval, each run
 *    once against an empty simulator, then the host left ticking for S seconds: RSS and CPU); the
 *    cost of the first (empty) runs; active figures come from the 1-host throughput run.
 *
 * `deno run -A bench/hosts.ts [--integrations 12] [--records 3000] [--latency 50] [--repeat 2]
 * [--idle 0,100,300] [--idle-seconds 60] [--only throughput|idle] [--stores postgres,sqlite] [--schedule]`
 * @module
 */
import * as v from "valibot";
import { build, installInto } from "../build.ts";
import { generateRecords, SIM_CLIENT } from "../fixtures/simulator/mod.ts";
import { configSchema } from "../plugin/config.ts";
import { normalize } from "../plugin/normalize.ts";
import { startPostgres } from "../test/_postgres.ts";
import { call, integrationBody, type Rig, spawnHosts, startFlags, until } from "./_hosts_rig.ts";
import { cpuSeconds, type Listening, sampleTree, sink, spawnListening, treeRss } from "./_procs.ts";
import { type IdleResult, idleTable, type ThroughputResult, throughputTable } from "./_tables.ts";

const LOG_TYPES = ["url", "attachment", "impersonation"] as const;
const STEP_MS = 1000;

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}
const flag = (name: string) => Deno.args.includes(`--${name}`);

const INTEGRATIONS = Number(arg("integrations", "12"));
const RECORDS = Number(arg("records", "3000"));
const LATENCY_MS = Number(arg("latency", "50"));
const REPEAT = Number(arg("repeat", "2"));
const IDLE_COUNTS = arg("idle", "0,100,300").split(",").map(Number);
const IDLE_SECONDS = Number(arg("idle-seconds", "60"));
const ONLY = arg("only", "");
const SCHEDULE = flag("schedule");
const STORES = arg("stores", "postgres").split(",");

/** How many of the generated records normalize into alerts: what each integration delivers. */
function expectedAlerts(start: number): number {
  const config = v.parse(configSchema, { ...SIM_CLIENT });
  const ctx = { integrationId: "expected", config, count: () => {} };
  let sum = 0;
  for (const t of LOG_TYPES) {
    for (const data of generateRecords(t, RECORDS, { start, stepMs: STEP_MS })) {
      if (normalize({ logType: t, data }, ctx) !== null) sum++;
    }
  }
  return sum;
}

/** Part 1: the workload on `count` hosts sharing one fresh database. */
async function throughput(
  rig: Rig,
  count: number,
  sim: Listening,
  webhook: Awaited<ReturnType<typeof sink>>,
  expected: number,
): Promise<ThroughputResult> {
  const databaseUrl = await rig.pg!.database(`hosts_${count}_${Date.now()}`);
  const hosts = await spawnHosts(rig, count, databaseUrl);
  try {
    webhook.reset();
    const ids: string[] = [];
    for (let i = 0; i < INTEGRATIONS; i++) {
      const body = integrationBody(`tenant ${i}`, sim.url, webhook.url, { enabled: false });
      ids.push(
        (await call(hosts[i % count].url, "/api/integrations", { method: "POST", json: body })).id,
      );
    }
    const cpuBefore = await Promise.all(hosts.map((h) => cpuSeconds(h.child.pid)));
    const samplers = hosts.map((h) => sampleTree(h.child.pid));
    const started = performance.now();
    for (const [i, id] of ids.entries()) {
      const base = hosts[i % count].url;
      if (SCHEDULE) {
        await call(base, `/api/integrations/${id}`, {
          method: "PATCH",
          json: { schedule: { enabled: true, intervalSeconds: 3600 } },
        });
      } else await call(base, `/api/integrations/${id}/runs`, { method: "POST" });
    }
    await until(
      () => ids.every((id) => (webhook.alerts.get(id)?.size ?? 0) >= expected),
      600_000,
      `${expected} alerts for each of ${ids.length} integrations`,
    );
    const seconds = (performance.now() - started) / 1000;
    const peaks = await Promise.all(samplers.map((s) => s.stop()));
    const cpu = await Promise.all(
      hosts.map((h, i) => cpuSeconds(h.child.pid).then((c) => c - cpuBefore[i])),
    );
    const runsOn: Record<string, number> = {};
    const runSeconds: number[] = [];
    for (const id of ids) {
      const { runs } = await call(hosts[0].url, `/api/integrations/${id}/runs?limit=5`);
      for (const run of runs) {
        runsOn[run.hostId] = (runsOn[run.hostId] ?? 0) + 1;
        if (run.finishedAt) {
          runSeconds.push((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000);
        }
      }
    }
    const delivered = ids.reduce((sum, id) => sum + webhook.alerts.get(id)!.size, 0);
    return {
      hosts: count,
      integrations: ids.length,
      alerts: delivered,
      seconds,
      alertsPerSecond: delivered / seconds,
      runsOn,
      meanRunSeconds: runSeconds.reduce((a, b) => a + b, 0) / Math.max(1, runSeconds.length),
      cpuSeconds: cpu,
      peakRssMiB: peaks.map((p) => p.mib),
      peakProcesses: peaks.map((p) => p.processes),
    };
  } finally {
    await Promise.all(hosts.map((h) => h.kill()));
  }
}

/** Part 2: one host with `count` scheduled integrations, each run once, then idling. */
async function idle(
  rig: Rig,
  count: number,
  simUrl: string,
  sinkUrl: string,
  sqlite: boolean,
): Promise<IdleResult> {
  const databaseUrl = sqlite ? undefined : await rig.pg!.database(`idle_${count}_${Date.now()}`);
  const [host] = await spawnHosts(rig, 1, databaseUrl);
  try {
    const base = await treeRss(host.child.pid);
    const cpu0 = await cpuSeconds(host.child.pid);
    const warm = performance.now();
    for (let i = 0; i < count; i++) {
      const body = integrationBody(`idle ${i}`, simUrl, sinkUrl, {
        enabled: true,
        intervalSeconds: 86_400,
      });
      await call(host.url, "/api/integrations", { method: "POST", json: body });
    }
    // Each one's first run comes due within 10 s of creation (against an empty simulator).
    await until(
      async () => {
        const list: { lastSuccessAt: string | null; status: string }[] = await call(
          host.url,
          "/api/integrations",
        );
        return list.every((i) => i.lastSuccessAt !== null && i.status !== "running");
      },
      30_000 + count * 2_000,
      `the first run of ${count} integrations`,
    );
    const warmSeconds = (performance.now() - warm) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // sandboxes reaped, outboxes empty
    const cpu1 = await cpuSeconds(host.child.pid);
    const sampler = sampleTree(host.child.pid);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const peak = await sampler.stop();
    const cpu2 = await cpuSeconds(host.child.pid);
    const end = await treeRss(host.child.pid);
    return {
      store: sqlite ? "SQLite" : "PostgreSQL",
      integrations: count,
      startRssMiB: base.mib,
      firstRunsSeconds: warmSeconds,
      firstRunsCpuSeconds: cpu1 - cpu0,
      idleCpuSeconds: cpu2 - cpu1,
      idleSeconds: IDLE_SECONDS,
      idleRssMiB: end.mib,
      idlePeakRssMiB: peak.mib,
      processes: end.processes,
    };
  } finally {
    await host.kill();
  }
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "bench-hosts-" });
  const rig: Rig = { dir, pluginDir: new URL(`file://${dir}/dist/`), flags: await startFlags() };
  const children: Listening[] = [];
  const webhook = await sink();
  try {
    await build({ outDir: rig.pluginDir });
    await installInto(`${dir}/plugins`, rig.pluginDir);
    rig.pg = await startPostgres();
    const start = Date.now() - RECORDS * STEP_MS - 2 * 3_600_000;
    const serve = (n: number, latency: number) =>
      spawnListening([
        "run",
        "-A",
        "fixtures/simulator/serve.ts",
        ...["--generate", String(n), "--start", String(start), "--step", String(STEP_MS)],
        ...["--latency", String(latency)],
      ]);
    const cpus = (await Deno.readTextFile("/proc/cpuinfo")).match(/^processor/gm)?.length;
    console.log(
      `# bench/hosts.ts, ${new Date().toISOString()}, ${cpus} cores, Deno ${Deno.version.deno}\n`,
    );

    if (ONLY !== "idle") {
      const sim = await serve(RECORDS, LATENCY_MS);
      children.push(sim);
      const expected = expectedAlerts(start);
      console.error(
        `throughput: ${INTEGRATIONS} integrations × 3 log types × ${RECORDS} records, ${expected} alerts each, latency ${LATENCY_MS} ms`,
      );
      const results: ThroughputResult[] = [];
      for (let r = 1; r <= REPEAT; r++) {
        for (const count of [1, 2, 3]) {
          console.error(`  ${count} host(s), run ${r} ...`);
          results.push(await throughput(rig, count, sim, webhook, expected));
          console.error(`    ${results.at(-1)!.seconds.toFixed(1)} s`);
        }
      }
      console.log(
        `## Throughput: ${INTEGRATIONS} integrations × 3 log types × ${
          RECORDS.toLocaleString("en")
        } records (${
          expected.toLocaleString("en")
        } alerts each), ${LATENCY_MS} ms per Mimecast call, runs ${
          SCHEDULE ? "scheduled" : "started through the API of alternating hosts"
        }\n`,
      );
      console.log(throughputTable(results) + "\n");
    }
    if (ONLY !== "throughput") {
      const empty = await serve(0, LATENCY_MS);
      children.push(empty);
      const results: IdleResult[] = [];
      for (const sqlite of STORES.map((s) => s === "sqlite")) {
        for (let r = 1; r <= REPEAT; r++) {
          for (const count of IDLE_COUNTS) {
            console.error(
              `idle: ${count} integrations on ${sqlite ? "SQLite" : "PostgreSQL"}, run ${r} ...`,
            );
            results.push(await idle(rig, count, empty.url, webhook.url, sqlite));
          }
        }
      }
      console.log(
        `## One host idling: ${IDLE_SECONDS} s, scheduler ticking every second, interval 1 day\n`,
      );
      console.log(idleTable(results) + "\n");
    }
  } finally {
    for (const c of children) await c.kill();
    webhook.close();
    await rig.pg?.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
