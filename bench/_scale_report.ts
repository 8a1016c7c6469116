/**
 * bench/scale.ts's figures: per phase, what it measured; derived from them, the cost of an idle and
 * an active integration, the scheduler's overhead, and the integrations one host carries.
 * @module
 */

/** One phase of bench/scale.ts. CPU is the host's own and its reaped sandboxes' (/proc). */
export interface Phase {
  name: string;
  seconds: number;
  cpu: number;
  /** Of `cpu`, what the sandbox processes spent (reaped children). */
  sandboxCpu: number;
  runs: number;
  failed?: number;
  meanRunSeconds?: number;
  /** Steady phase: the mean wall time of its active and of its idle runs. */
  activeRunSeconds?: number;
  idleRunSeconds?: number;
  mimecastCalls?: number;
  tokenCalls?: number;
  records?: number;
  alerts?: number;
  /** Steady phase: integrations past their latest due time, and runs the intervals call for. */
  behind?: number;
  expectedRuns?: number;
  /** The host and its sandboxes: at the end, at the peak (sampled every 200 ms), most processes. */
  rssMiB: number;
  peakRssMiB: number;
  processes: number;
}

/** Everything bench/scale.ts measured. */
export interface ScaleResult {
  options: {
    integrations: number;
    activeShare: number;
    intervalSeconds: number;
    latencyMs: number;
    stepMs: number;
  };
  cores: number;
  activeCount: number;
  phases: Phase[];
}

/** Runs the scheduler starts at once (host/scheduler.ts's default). */
export const SLOTS = 8;
/** Share of the cores a host should use at most: the rest is headroom (catch-up, bursts). */
export const CPU_SHARE = 0.5;

/** What the phases come to, per integration and per run. */
export function derive(r: ScaleResult) {
  const get = (name: string) => r.phases.find((p) => p.name === name)!;
  const empty = get("empty"), none = get("none due"), idle = get("idle runs");
  const active = get("active runs"), steady = r.phases.find((p) => p.name === "steady");
  const base = empty.cpu / empty.seconds;
  const ticking = none.cpu / none.seconds;
  const n = r.options.integrations;
  const perRun = (p: Phase) => (p.cpu - ticking * p.seconds) / Math.max(1, p.runs);
  const sandboxMiB = (p: Phase) => (p.peakRssMiB - none.rssMiB) / Math.max(1, p.processes - 1);
  const idleRun = perRun(idle), activeRun = perRun(active);
  const sandboxPerRun = (p: Phase) => p.sandboxCpu / Math.max(1, p.runs);
  const idleCalls = (idle.mimecastCalls ?? 0) / Math.max(1, idle.runs);
  const activeCalls = (active.mimecastCalls ?? 0) / Math.max(1, active.runs);
  return {
    base,
    ticking,
    // Differences of two short measurements: in a small run (the CI smoke test's 12 integrations,
    // 1 s phases) the noise of /proc's 10 ms ticks can make them negative, which no cost is (a
    // negative overhead once gave a negative capacity).
    overheadPerIntegration: Math.max(0, (ticking - base) / n),
    rssPerIdleMiB: Math.max(0, (none.rssMiB - empty.rssMiB) / n),
    idleRun,
    activeRun,
    idleSandbox: sandboxPerRun(idle),
    activeSandbox: sandboxPerRun(active),
    idleCalls,
    activeCalls,
    perPage: activeCalls > idleCalls ? (activeRun - idleRun) / (activeCalls - idleCalls) : NaN,
    // Runs' wall times as the steady phase saw them when there is one: in a burst, 8 runs at once
    // compete for the cores, which a host polling at its intervals does not do all the time.
    idleWall: steady?.idleRunSeconds ?? idle.meanRunSeconds ?? NaN,
    activeWall: steady?.activeRunSeconds ?? active.meanRunSeconds ?? NaN,
    sandboxMiB: Math.max(sandboxMiB(idle), sandboxMiB(active)),
    hostMiB: empty.rssMiB,
  };
}

/**
 * Integrations one host carries at `intervalSeconds` with `share` of them active. Records arrive
 * at a fixed rate, so an active run at another interval than the one measured brings that much more
 * or less: what it costs beyond an idle run is scaled by the intervals' ratio (conservative for
 * longer intervals: per page, a longer run costs less, as its sandbox's code warms up).
 */
export function capacity(
  d: ReturnType<typeof derive>,
  o: { cores: number; intervalSeconds: number; share: number; measuredInterval: number },
) {
  const ratio = o.intervalSeconds / o.measuredInterval;
  const activeRun = d.idleRun + (d.activeRun - d.idleRun) * ratio;
  const activeWall = d.idleWall + (d.activeWall - d.idleWall) * ratio;
  const runCpu = o.share * activeRun + (1 - o.share) * d.idleRun;
  const runWall = o.share * activeWall + (1 - o.share) * d.idleWall;
  const byCpu = (o.cores * CPU_SHARE - d.base) /
    (runCpu / o.intervalSeconds + d.overheadPerIntegration);
  const bySlots = SLOTS * o.intervalSeconds / runWall;
  const carried = Math.floor(Math.min(byCpu, bySlots));
  const memoryMiB = d.hostMiB + carried * d.rssPerIdleMiB + SLOTS * d.sandboxMiB;
  return { runCpu, runWall, byCpu, bySlots, carried, memoryMiB };
}

/** The steady phase's CPU against what the figures above predict for the runs it made. */
function steadyCheck(r: ScaleResult, d: ReturnType<typeof derive>): string[] {
  const p = r.phases.find((p) => p.name === "steady");
  if (!p) return [];
  const share = r.activeCount / r.options.integrations;
  const predicted = d.ticking +
    p.runs / p.seconds * (share * d.activeRun + (1 - share) * d.idleRun);
  return [
    `| steady: CPU measured, predicted from the figures above | ${
      (p.cpu / p.seconds * 100).toFixed(1)
    } %, ${(predicted * 100).toFixed(1)} % of a core; ${p.behind} integrations behind |`,
  ];
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const int = (x: number) => Math.round(x).toLocaleString("en");
const opt = (x: number | undefined, f: (x: number) => string) => (x === undefined ? "—" : f(x));

/** The phases, the derived figures and the capacity, as Markdown. */
export function report(r: ScaleResult): string {
  const o = r.options;
  const d = derive(r);
  const lines = [
    `${int(o.integrations)} integrations (${r.activeCount} active: a record per log type every ${
      o.stepMs / 1000
    } s), interval ${o.intervalSeconds} s, ${o.latencyMs} ms per Mimecast call, ${r.cores} cores\n`,
    "| phase | s | runs (failed) | CPU s (sandboxes) | CPU % of a core | Mimecast calls, tokens | records, alerts | mean run s | RSS MiB end (peak) | most processes |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...r.phases.map((p) =>
      `| ${p.name} | ${f1(p.seconds)} | ${p.runs}${
        p.expectedRuns === undefined ? "" : ` of ${int(p.expectedRuns)} due`
      } (${p.failed ?? 0}) | ${f2(p.cpu)} (${f2(p.sandboxCpu)}) | ${
        f1(p.cpu / p.seconds * 100)
      } | ${p.mimecastCalls === undefined ? "—" : `${p.mimecastCalls}, ${p.tokenCalls}`} | ${
        p.records === undefined ? "—" : `${int(p.records)}, ${int(p.alerts ?? 0)}`
      } | ${opt(p.meanRunSeconds, f2)} | ${f1(p.rssMiB)} (${f1(p.peakRssMiB)}) | ${p.processes} |`
    ),
    "",
    "| figure | value |",
    "|---|---|",
    `| host idle, no integration | ${f2(d.base * 100)} % of a core, ${
      f1(r.phases[0].rssMiB)
    } MiB |`,
    `| scheduler overhead, ${int(o.integrations)} integrations none due | ${
      f2((d.ticking - d.base) * 100)
    } % of a core (${f3(d.overheadPerIntegration * 1e6)} µs CPU per integration per second) |`,
    `| RSS per idle integration | ${f3(d.rssPerIdleMiB * 1024)} KiB |`,
    `| CPU per idle run (empty pages) | ${f3(d.idleRun)} s (sandbox ${f3(d.idleSandbox)} s), ${
      f1(d.idleCalls)
    } Mimecast calls, ${f2(d.idleWall)} s wall |`,
    `| CPU per active run | ${f3(d.activeRun)} s (sandbox ${f3(d.activeSandbox)} s), ${
      f1(d.activeCalls)
    } Mimecast calls, ${f2(d.activeWall)} s wall |`,
    `| CPU per page beyond an idle run | ${f1(d.perPage * 1000)} ms |`,
    `| RSS per running sandbox | ${f1(d.sandboxMiB)} MiB |`,
    ...steadyCheck(r, d),
    "",
    `Integrations one host carries: by CPU, ${
      CPU_SHARE * 100
    } % of ${r.cores} cores (the rest headroom) ÷ (CPU per run ÷ interval + scheduler overhead per integration); by slots, ${SLOTS} runs at once × interval ÷ mean run wall time (${
      r.phases.some((p) => p.name === "steady") ? "in the steady phase" : "in the bursts"
    }); memory at most: the host, ${SLOTS} running sandboxes and the RSS per idle integration. An active run at another interval than ${o.intervalSeconds} s: its cost beyond an idle run scaled by the intervals' ratio.`,
    "",
    "| interval | active share | CPU s per run | run wall s | by CPU | by slots | carried | memory MiB |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const intervalSeconds of [300, 900]) {
    for (const share of [0, o.activeShare, 1]) {
      const c = capacity(d, {
        cores: r.cores,
        intervalSeconds,
        share,
        measuredInterval: o.intervalSeconds,
      });
      lines.push(
        `| ${intervalSeconds / 60} min | ${share * 100} % | ${f3(c.runCpu)} | ${f2(c.runWall)} | ${
          int(c.byCpu)
        } | ${int(c.bySlots)} | ${int(c.carried)} | ${int(c.memoryMiB)} |`,
      );
    }
  }
  return lines.join("\n");
}
