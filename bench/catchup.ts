/**
 * Catch-up at real-world latency (SPEC §6, issue 14): the simulator in its own process answers
 * every call after a latency (200 ms by default) and holds a backlog of about 300 pages over the
 * three log types, all within the last 6 days; one host (its own process, SQLite) runs a first
 * run over 7 days against it. Reported: the run's wall time against the *sequential minimum*
 * (total pages × latency: what a loop reading one page at a time needs), the Mimecast calls
 * against the pages, the 429s the simulator answered, the most calls it answered at once, and
 * the alerts the sink received (each once).
 *
 * Two quotas: an ample one (1,000 calls, one back every 3.6 s: 1,000 an hour), which a catch-up
 * of 300 pages never reaches, and a tight one (20 calls, one back every 50 ms: 20 a second), under
 * which the run has to pace itself on `X-RateLimit-Remaining`; with `--sequential`, also the same
 * backlog read with `concurrentCalls: 1`, measured rather than computed.
 *
 * `deno run -A bench/catchup.ts [--records 10000] [--latency 200] [--sequential]`
 * @module
 */
import { build, installInto } from "../build.ts";
import { call, integrationBody, spawnHosts, startFlags, until } from "./_hosts_rig.ts";
import { type Listening, sink, spawnListening } from "./_procs.ts";

const LOG_TYPES = ["url", "attachment", "impersonation"] as const;
const PATHS = LOG_TYPES.map((t) => `/api/ttp/${t}/get-logs`);
const DAY = 86_400_000;

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}

const RECORDS = Number(arg("records", "10000"));
const LATENCY_MS = Number(arg("latency", "200"));

/** One catch-up's figures. */
export interface CatchupResult {
  scenario: string;
  quota: string;
  concurrentCalls: number;
  pages: number;
  sequentialMinimumSeconds: number;
  wallSeconds: number;
  ratio: number;
  mimecastCalls: number;
  refused429: number;
  peakConcurrent: number;
  alertsDelivered: number;
  alertsUnique: number;
  runStatus: string;
}

/** Runs one catch-up: a fresh simulator, host and sink; the first run of one integration. */
export async function catchup(
  options: {
    scenario: string;
    rateLimit: string;
    concurrentCalls?: number;
    records?: number;
    latencyMs?: number;
    pluginDir: URL;
  },
): Promise<CatchupResult> {
  const records = options.records ?? RECORDS;
  const latencyMs = options.latencyMs ?? LATENCY_MS;
  const dir = await Deno.makeTempDir({ prefix: "bench-catchup-" });
  const now = Date.now();
  // The backlog: N records per log type spread over 6 days, the newest 10 minutes ago.
  const step = Math.floor((6 * DAY) / records);
  const start = now - 10 * 60_000 - records * step;
  const procs: Listening[] = [];
  const webhook = await sink();
  try {
    const sim = await spawnListening([
      "run",
      "-A",
      "fixtures/simulator/serve.ts",
      ...["--generate", String(records), "--start", String(start), "--step", String(step)],
      ...["--latency", String(latencyMs), "--rate-limit", options.rateLimit],
    ]);
    procs.push(sim);
    await installInto(`${dir}/plugins`, options.pluginDir);
    const [host] = await spawnHosts(
      { dir, pluginDir: options.pluginDir, flags: await startFlags() },
      1,
      undefined,
    );
    procs.push(host);
    const body = integrationBody("catch-up", sim.url, webhook.url, { enabled: false });
    if (options.concurrentCalls !== undefined) {
      Object.assign(body.config, { concurrentCalls: options.concurrentCalls });
    }
    const integration = await call(host.url, "/api/integrations", { method: "POST", json: body });
    await fetch(`${sim.url}/__stats`, { method: "DELETE" }).then((r) => r.body?.cancel());
    const { runId } = await call(host.url, `/api/integrations/${integration.id}/runs`, {
      method: "POST",
    });
    let run!: Record<string, unknown> & { counts: Record<string, number> };
    await until(
      async () => {
        run = await call(host.url, `/api/runs/${runId}`);
        return run.status !== "running";
      },
      600_000,
      "the catch-up run",
    );
    const wallSeconds = (Date.parse(String(run.finishedAt)) - Date.parse(String(run.startedAt))) /
      1000;
    await until(
      () => (webhook.alerts.get(integration.id)?.size ?? 0) >= run.counts.delivered,
      30_000,
      "the deliveries",
    );
    const stats: Record<string, number> = await (await fetch(`${sim.url}/__stats`)).json();
    const pages = Math.ceil(records / 100) * LOG_TYPES.length;
    const sequentialMinimumSeconds = (pages * latencyMs) / 1000;
    return {
      scenario: options.scenario,
      quota: options.rateLimit,
      concurrentCalls: options.concurrentCalls ?? 8,
      pages,
      sequentialMinimumSeconds,
      wallSeconds: Math.round(wallSeconds * 100) / 100,
      ratio: Math.round((wallSeconds / sequentialMinimumSeconds) * 1000) / 1000,
      mimecastCalls: PATHS.reduce((sum, p) => sum + (stats[p] ?? 0), 0),
      refused429: stats.__refused ?? 0,
      peakConcurrent: stats.__peakConcurrent ?? 0,
      alertsDelivered: run.counts.delivered,
      alertsUnique: webhook.alerts.get(integration.id)?.size ?? 0,
      runStatus: String(run.status),
    };
  } finally {
    for (const p of procs.reverse()) await p.kill();
    webhook.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The figures as a Markdown table. */
export function catchupTable(results: CatchupResult[]): string {
  const lines = [
    "| scenario | quota (calls/refill ms) | calls at once | pages | sequential minimum s | catch-up s | ratio | Mimecast calls | 429s | most calls at once | alerts delivered (unique) | run |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.scenario} | ${r.quota} | ${r.concurrentCalls} | ${r.pages} | ${r.sequentialMinimumSeconds} | ${r.wallSeconds} | ${r.ratio} | ${r.mimecastCalls} | ${r.refused429} | ${r.peakConcurrent} | ${r.alertsDelivered} (${r.alertsUnique}) | ${r.runStatus} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "bench-catchup-plugin-" });
  try {
    const pluginDir = new URL(`file://${dir}/dist/`);
    await build({ outDir: pluginDir });
    const scenarios = [
      { scenario: "ample quota", rateLimit: "1000/3600" },
      { scenario: "tight quota", rateLimit: "20/50" },
      ...(Deno.args.includes("--sequential")
        ? [{ scenario: "one page at a time", rateLimit: "1000/3600", concurrentCalls: 1 }]
        : []),
    ];
    const results: CatchupResult[] = [];
    for (const s of scenarios) results.push(await catchup({ ...s, pluginDir }));
    console.log(`\nCatch-up at ${LATENCY_MS} ms a call, ${RECORDS} records per log type:\n`);
    console.log(catchupTable(results));
    for (const r of results) {
      console.log(
        `${r.scenario}: catch-up ${r.ratio} of the sequential minimum (goal ≤ 0.4); ${r.mimecastCalls} calls for ${r.pages} pages; ${r.refused429} 429s`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
