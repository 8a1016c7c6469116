/** bench/hosts.ts's results and their Markdown tables. */

/** One throughput measurement: the workload on `hosts` hosts. */
export interface ThroughputResult {
  hosts: number;
  integrations: number;
  alerts: number;
  seconds: number;
  alertsPerSecond: number;
  /** Runs per host id. */
  runsOn: Record<string, number>;
  meanRunSeconds: number;
  /** Per host: CPU seconds (its own and its reaped sandboxes'), peak RSS of it and its sandboxes. */
  cpuSeconds: number[];
  peakRssMiB: number[];
  peakProcesses: number[];
}

/** One host idling with `integrations` scheduled integrations. */
export interface IdleResult {
  store: string;
  integrations: number;
  startRssMiB: number;
  firstRunsSeconds: number;
  firstRunsCpuSeconds: number;
  idleCpuSeconds: number;
  idleSeconds: number;
  idleRssMiB: number;
  idlePeakRssMiB: number;
  processes: number;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString("en");

/** Throughput results as a Markdown table. */
export function throughputTable(results: ThroughputResult[]): string {
  return [
    "| hosts | alerts | wall s | alerts/s | runs per host | mean run s | CPU s per host (sum) | peak RSS MiB per host, with sandboxes | most processes per host |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map((r) =>
      `| ${r.hosts} | ${int(r.alerts)} | ${f1(r.seconds)} | ${int(r.alertsPerSecond)} | ${
        Object.entries(r.runsOn).sort().map(([h, n]) => `${h}: ${n}`).join(", ")
      } | ${f1(r.meanRunSeconds)} | ${r.cpuSeconds.map(f1).join(", ")} (${
        f1(r.cpuSeconds.reduce((a, b) => a + b, 0))
      }) | ${r.peakRssMiB.map(int).join(", ")} | ${r.peakProcesses.join(", ")} |`
    ),
  ].join("\n");
}

/** Idle results as a Markdown table. */
export function idleTable(results: IdleResult[]): string {
  return [
    "| store | integrations | RSS at start MiB | first runs: s, CPU s | CPU s idling (% of a core) | RSS idle MiB (peak) | processes |",
    "|---|---|---|---|---|---|---|",
    ...results.map((r) =>
      `| ${r.store} | ${r.integrations} | ${f1(r.startRssMiB)} | ${f1(r.firstRunsSeconds)}, ${
        f2(r.firstRunsCpuSeconds)
      } | ${f2(r.idleCpuSeconds)} (${f2(r.idleCpuSeconds / r.idleSeconds * 100)} %) | ${
        f1(r.idleRssMiB)
      } (${f1(r.idlePeakRssMiB)}) | ${r.processes} |`
    ),
  ].join("\n");
}
