/**
 * End-to-end benchmark (SPEC §6): the simulator (its own process, records generated on demand)
 * serves N records per log type in pages of 100; the host (its own process) ingests them and
 * delivers to a local webhook sink. In the same run, a bare pipe over the same pages: fetch,
 * JSON.parse, JSON.stringify, POST — no validation, storage or signing. Reports alerts/s, the
 * ratio to the bare pipe, Mimecast calls against the minimum, webhook requests, the host's peak
 * RSS, and the CPU seconds the host and its plugin sandboxes spent on the run (less noisy than
 * wall time on a busy machine, for comparing two versions). The wall-time ratio depends on how
 * many cores the processes share; the CPU ratio does not: every process's CPU during the host's
 * run (host, sandboxes, simulator, this process with its sink) over the same during the bare pipe.
 *
 * `deno run -A bench/e2e.ts [N ...]` (default 20000 200000); `BENCH_PROFILE_DIR=/tmp/prof` also
 * writes the host's CPU profile. The host reaches the simulator and the sink at their IP literal
 * (127.0.0.1), as it would an on-premises SIEM at its address; `BENCH_BY_NAME=1` gives it them
 * as `localhost` instead, a name, whose requests the host pins through its SOCKS relay (the path
 * every request to Mimecast's own API names takes).
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build, installInto } from "../build.ts";
import process from "node:process";
import { cpuSeconds, cpuSplit, spawnListening } from "./_procs.ts";

const ROOT = new URL("../", import.meta.url);
const TOKEN = "bench-admin-token-0123456789abcdef";
const SECRET = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc=";
const LOG_TYPES = ["url", "attachment", "impersonation"] as const;
const PATHS = LOG_TYPES.map((t) => `/api/ttp/${t}/get-logs`);
const STEP_MS = 1000;

/** The URL the host is given for a server of the benchmark's: by name with BENCH_BY_NAME=1. */
function hostUrl(url: string): string {
  return Deno.env.get("BENCH_BY_NAME") === "1" ? url.replace("//127.0.0.1:", "//localhost:") : url;
}

/** With BENCH_PROFILE_DIR set, the host writes a V8 CPU profile (and a Markdown summary) there. */
function profileFlags(): string[] {
  const dir = Deno.env.get("BENCH_PROFILE_DIR");
  return dir ? [`--cpu-prof-dir=${dir}`, "--cpu-prof-md"] : [];
}

/** The V8 flags `deno task start` runs the host with, so the benchmark measures the same thing. */
async function startFlags(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  return /--v8-flags=\S+/.exec(tasks.start)?.slice(0, 1) ?? [];
}

/** One benchmark's figures. */
export interface E2EResult {
  n: number;
  records: number;
  alerts: number;
  hostSeconds: number;
  bareSeconds: number;
  alertsPerSecond: number;
  ratio: number;
  mimecastCalls: number;
  tokenCalls: number;
  minimumCalls: number;
  webhookRequests: number;
  peakRssMiB: number;
  /** CPU seconds the host and its sandboxes spent on the run (user + system). */
  hostCpuSeconds: number;
  /** Of those, the plugin sandboxes' (the host's reaped children). */
  sandboxCpuSeconds: number;
  /** CPU seconds of every process during the bare pipe: its own (with the sink) and the simulator's. */
  bareCpuSeconds: number;
  /** CPU seconds of every process during the host's run: host, sandboxes, simulator, sink. */
  runCpuSeconds: number;
  /** runCpuSeconds ÷ bareCpuSeconds: the cost ratio whatever the number of cores. */
  cpuRatio: number;
  runStatus: string;
}

/**
 * The webhook sink: reads and counts each request, and parses nothing, so it costs both sides
 * little. It keeps connections alive as receivers do: `node:http`, because Deno 2.9.5's
 * `Deno.serve` closes the connection after every request whose body is 16 KiB or more, which
 * left a socket in TIME-WAIT per batch (for the bare pipe and the host alike) until loopback ran
 * short of ports in the middle of long runs.
 */
async function sink() {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on("data", (chunk: Uint8Array) => (bytes += chunk.length));
    request.on("end", () => {
      stats.requests++;
      stats.bytes += bytes;
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    stats,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The bare pipe: same pages, no validation, storage or signing. */
async function barePipe(simUrl: string, sinkUrl: string): Promise<number> {
  const started = performance.now();
  const tokenResponse = await fetch(`${simUrl}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      client_id: "sim-client-id",
      client_secret: "sim-client-secret-value",
      grant_type: "client_credentials",
    }),
  });
  const { access_token } = await tokenResponse.json();
  const to = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "+0000");
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "+0000");
  for (const path of PATHS) {
    const filters = { from, to, oldestFirst: true, scanResult: "all", result: "all", route: "all" };
    let pageToken: string | undefined;
    for (;;) {
      const response = await fetch(`${simUrl}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${access_token}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          meta: { pagination: { pageSize: 100, ...(pageToken ? { pageToken } : {}) } },
          data: [filters],
        }),
      });
      const envelope = JSON.parse(await response.text());
      const records = envelope.data?.[0]
        ? Object.values(envelope.data[0]).find(Array.isArray) as unknown[] ?? []
        : [];
      if (records.length > 0) {
        const posted = await fetch(sinkUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ alerts: records }),
        });
        await posted.body?.cancel();
      }
      pageToken = envelope.meta?.pagination?.next;
      if (!pageToken || records.length === 0) break;
    }
  }
  return (performance.now() - started) / 1000;
}

/**
 * Starts counting CPU seconds: this process's (the bare pipe or the waiting, and the sink) and
 * the given processes' with their reaped children; the function returned gives the total since.
 */
async function cpuMeter(...pids: number[]): Promise<() => Promise<number>> {
  const others = async () => {
    let sum = 0;
    for (const pid of pids) sum += await cpuSeconds(pid);
    return sum;
  };
  const ownBefore = process.cpuUsage();
  const othersBefore = await others();
  return async () => {
    const own = process.cpuUsage(ownBefore);
    return (own.user + own.system) / 1e6 + await others() - othersBefore;
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function peakRssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024 * 10) / 10;
}

/** Runs one end-to-end measurement with N records per log type. */
export async function measure(n: number, options: { pluginDir?: URL } = {}): Promise<E2EResult> {
  const dir = await Deno.makeTempDir({ prefix: `bench-${n}-` });
  const start = Date.now() - n * STEP_MS - 2 * 3_600_000;
  const sim = await spawnListening([
    "run",
    "-A",
    "fixtures/simulator/serve.ts",
    "--generate",
    String(n),
    "--start",
    String(start),
    "--step",
    String(STEP_MS),
  ]);
  const webhook = await sink();
  let host: Awaited<ReturnType<typeof spawnListening>> | undefined;
  try {
    const bareCpu = await cpuMeter(sim.child.pid);
    const bareSeconds = await barePipe(sim.url, webhook.url);
    const bareCpuSeconds = await bareCpu();
    await fetch(`${sim.url}/__stats`, { method: "DELETE" }).then((r) => r.body?.cancel());
    webhook.stats.requests = webhook.stats.bytes = 0;

    const pluginDir = options.pluginDir ?? new URL(`file://${dir}/dist/`);
    if (!options.pluginDir) await build({ outDir: pluginDir });
    await installInto(`${dir}/plugins`, pluginDir);
    host = await spawnListening([
      "run",
      "-A",
      ...await startFlags(),
      ...profileFlags(),
      "host/main.ts",
    ], {
      HOST_PORT: "0",
      HOST_DATA_DIR: `${dir}/data`,
      HOST_PLUGINS_DIR: `${dir}/plugins`,
      HOST_ADMIN_TOKEN: TOKEN,
      HOST_ALLOW_LOOPBACK: "1",
    });
    const api = async (path: string, init: RequestInit = {}) => {
      const r = await fetch(`${host!.url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      });
      return await r.json();
    };
    for (let i = 0; i < 100 && (await api("/api/plugins")).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const integration = await api("/api/integrations", {
      method: "POST",
      body: JSON.stringify({
        plugin: "mimecast",
        name: `bench ${n}`,
        config: {
          baseUrl: hostUrl(sim.url),
          clientId: "sim-client-id",
          clientSecret: "sim-client-secret-value",
          startFrom: "30d",
        },
        destination: { url: hostUrl(webhook.url), secret: SECRET },
        schedule: { enabled: false },
      }),
    });
    const hostBefore = await cpuSplit(host.child.pid);
    const runCpu = await cpuMeter(sim.child.pid, host.child.pid);
    const { runId } = await api(`/api/integrations/${integration.id}/runs`, { method: "POST" });
    let run;
    for (;;) {
      run = await api(`/api/runs/${runId}`);
      if (run.status !== "running") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const hostSeconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
    // The run is recorded as ended just before its sandbox is closed and reaped (its CPU time
    // then counts among the host's children).
    await new Promise((r) => setTimeout(r, 500));
    const runCpuSeconds = await runCpu();
    const hostAfter = await cpuSplit(host.child.pid);
    const hostCpu = hostAfter.own + hostAfter.children - hostBefore.own - hostBefore.children;
    const calls: Record<string, number> = await (await fetch(`${sim.url}/__stats`)).json();
    const mimecastCalls = PATHS.reduce((sum, p) => sum + (calls[p] ?? 0), 0);
    const pagesPerType = Math.max(1, Math.ceil(n / 100));
    return {
      n,
      records: run.counts.fetched,
      alerts: run.counts.delivered,
      hostSeconds,
      bareSeconds,
      alertsPerSecond: Math.round(run.counts.delivered / hostSeconds),
      ratio: Math.round(hostSeconds / bareSeconds * 100) / 100,
      mimecastCalls,
      tokenCalls: calls["/oauth/token"] ?? 0,
      minimumCalls: pagesPerType * LOG_TYPES.length,
      webhookRequests: webhook.stats.requests,
      peakRssMiB: await peakRssMiB(host.child.pid),
      hostCpuSeconds: round2(hostCpu),
      sandboxCpuSeconds: round2(hostAfter.children - hostBefore.children),
      bareCpuSeconds: round2(bareCpuSeconds),
      runCpuSeconds: round2(runCpuSeconds),
      cpuRatio: round2(round2(runCpuSeconds) / round2(bareCpuSeconds)), // as the table shows them
      runStatus: run.status,
    };
  } finally {
    for (const p of [host, sim]) {
      if (!p) continue;
      try {
        p.child.kill(profileFlags().length ? "SIGINT" : "SIGKILL"); // SIGINT lets the profile be written
      } catch { /* gone */ }
      await p.child.status;
    }
    webhook.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The results as a Markdown table. */
export function table(results: E2EResult[]): string {
  const rows = [
    "| N per log type | records | alerts delivered | host s | bare pipe s | alerts/s | host ÷ bare | Mimecast calls (min) | token calls | webhook requests | peak RSS MiB | host CPU s (sandbox) | CPU s: run ÷ bare pipe |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...results.map((r) =>
      `| ${r.n.toLocaleString("en")} | ${r.records.toLocaleString("en")} | ${
        r.alerts.toLocaleString("en")
      } | ${r.hostSeconds.toFixed(2)} | ${r.bareSeconds.toFixed(2)} | ${
        r.alertsPerSecond.toLocaleString("en")
      } | ${r.ratio} | ${r.mimecastCalls} (${r.minimumCalls}) | ${r.tokenCalls} | ${r.webhookRequests} | ${r.peakRssMiB} | ${r.hostCpuSeconds} (${r.sandboxCpuSeconds}) | ${r.runCpuSeconds} ÷ ${r.bareCpuSeconds} = ${r.cpuRatio} |`
    ),
  ];
  return rows.join("\n");
}

if (import.meta.main) {
  const sizes = Deno.args.length ? Deno.args.map(Number) : [20_000, 200_000];
  const pluginDir = new URL(`file://${await Deno.makeTempDir({ prefix: "bench-plugin-" })}/`);
  await build({ outDir: pluginDir });
  const results: E2EResult[] = [];
  for (const n of sizes) {
    console.error(
      `measuring N = ${n} per log type (the host reaches its servers by ${
        Deno.env.get("BENCH_BY_NAME") === "1" ? "name, through the relay" : "IP literal"
      }) ...`,
    );
    results.push(await measure(n, { pluginDir }));
  }
  console.log(table(results));
  if (results.length >= 2) {
    const [small, large] = [results[0], results[results.length - 1]];
    console.log(
      `\npeak RSS ${large.n} ÷ ${small.n}: ${
        (large.peakRssMiB / small.peakRssMiB).toFixed(2)
      } (target ≤ 1.25)`,
    );
  }
  for (const r of results) {
    console.log(
      `N=${r.n}: host ÷ bare ${r.ratio} (target ≤ 1.5, issue 14), CPU ${r.cpuRatio} of the bare pipe's on ${navigator.hardwareConcurrency} cores; Mimecast calls ${r.mimecastCalls} vs minimum ${r.minimumCalls}; run ${r.runStatus}`,
    );
  }
}
