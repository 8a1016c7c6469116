/**
 * An integration's status (SPEC §5.5), computed from facts, the same for the API, the console and
 * `/metrics`: whether its secrets open, whether it runs now, how its last finished run ended,
 * dead letters and the outbox, its schedule and plugin, its last success and its lag. When several
 * hold, the first of `secrets-unreadable`, `running`, `error`, `paused`, `never-run`, `stale`,
 * `connected` wins. Each comes with a reason in plain words.
 * @module
 */
import type { Integrations } from "./integrations.ts";
import type { InstalledPlugin, Registry } from "./registry.ts";
import type { Runner } from "./runner.ts";
import type { HostStore, IntegrationOverview, IntegrationRow } from "./store/mod.ts";
import type { Clock } from "./types.ts";

/** The statuses, in the order in which they win. */
export const STATUSES = [
  "secrets-unreadable",
  "running",
  "error",
  "paused",
  "never-run",
  "stale",
  "connected",
] as const;

/** An integration's status. */
export type IntegrationStatus = typeof STATUSES[number];

/** What the status is computed from. */
export interface StatusFacts {
  now: number;
  secretsReadable: boolean;
  running: boolean;
  enabled: boolean;
  /** New, and paused until a connection check passes or the operator enables the schedule. */
  awaitingCheck?: boolean;
  pluginInstalled: boolean;
  /** The newest run that has ended (succeeded, failed or cancelled), if any. */
  lastFinished?: { status: string; errorCode: string | null; finishedAt: string | null };
  lastSuccessAt: string | null;
  createdAt: string;
  deadLetters: number;
  outboxPending: number;
  intervalSeconds: number;
  /** The plugin's late-arrival window H in seconds (0 when it has none). */
  lateArrivalSeconds: number;
  /** The largest lag over the integration's log types, when one is known. */
  maxLagSeconds: number | null;
}

/** A status and why. */
export interface StatusVerdict {
  status: IntegrationStatus;
  reason: string;
}

const ago = (ms: number) => {
  const minutes = Math.round(ms / 60_000);
  return minutes < 90 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
};

/** The status the facts give, and why. */
export function statusOf(f: StatusFacts): StatusVerdict {
  if (!f.secretsReadable) {
    return {
      status: "secrets-unreadable",
      reason: "This host's master key cannot open the stored secrets: re-enter them",
    };
  }
  if (f.running) return { status: "running", reason: "A run is going on now" };
  if (f.deadLetters > 0) {
    return {
      status: "error",
      reason: `${f.deadLetters} batch(es) wait in the dead letters: fix the receiver, then redrive`,
    };
  }
  const last = f.lastFinished;
  // A run that failed only because its batches went to dead letters has recovered once they
  // were redriven and delivered.
  const recovered = last?.errorCode === "DELIVERY_FAILED" && f.outboxPending === 0;
  if (last?.status === "failed" && !recovered) {
    return { status: "error", reason: "The last run failed" };
  }
  if (!f.pluginInstalled) return { status: "paused", reason: "Its plugin is not installed" };
  if (!f.enabled && f.awaitingCheck) {
    return {
      status: "paused",
      reason:
        "New: waiting for a passing connection check (Test connection), or enable the schedule",
    };
  }
  if (!f.enabled) return { status: "paused", reason: "Its schedule is off" };
  if (!last) return { status: "never-run", reason: "No run has finished yet" };
  const interval = f.intervalSeconds * 1000;
  const since = Date.parse(f.lastSuccessAt ?? last.finishedAt ?? f.createdAt);
  if (f.now - since > 2 * interval) {
    return {
      status: "stale",
      reason: f.lastSuccessAt
        ? `No successful run for ${ago(f.now - since)} (more than 2 intervals)`
        : `No successful run yet; the last one ended ${ago(f.now - since)} ago`,
    };
  }
  const lagLimit = 3 * f.intervalSeconds + f.lateArrivalSeconds;
  if (f.maxLagSeconds !== null && f.maxLagSeconds > lagLimit) {
    return {
      status: "stale",
      reason: `Its logs are received only up to ${
        ago(f.maxLagSeconds * 1000)
      } ago (more than 3 intervals plus the late-arrival window)`,
    };
  }
  return { status: "connected", reason: "The last run succeeded and its logs are current" };
}

/** What gathering an integration's facts reads. */
export interface StatusSources {
  store: Pick<
    HostStore,
    "overview" | "listRuns" | "deadLetterCount" | "pendingCount" | "listStreams"
  >;
  registry: Pick<Registry, "get">;
  runner: Pick<Runner, "runningId">;
  integrations: Pick<Integrations, "secretsState">;
  clock: Clock;
}

/**
 * The facts of one integration, read now; `secretsReadable` when the caller has already opened
 * the secrets (each opening is a decryption), `overview` when it has already read every
 * integration's at once (a list).
 */
export async function statusFacts(
  deps: StatusSources,
  row: IntegrationRow,
  secretsReadable?: boolean,
  overview?: IntegrationOverview,
): Promise<StatusFacts> {
  const installed = deps.registry.get(row.pluginId);
  const now = deps.clock.now();
  const known = overview ?? await overviewOf(deps, row.id);
  // The live pipeline's health: a backfill's outcome is its own run's (SPEC §5.3).
  const lastFinished = known.lastFinished ?? undefined;
  const lags = known.streams.map((s) => lagSeconds(s, now))
    .filter((s): s is number => s !== null);
  const late = row.config.lateArrivalMinutes;
  return {
    now,
    secretsReadable: secretsReadable ?? (await deps.integrations.secretsState(row)).readable,
    // Here, or on another host sharing the database (its newest run still going).
    running: deps.runner.runningId(row.id) !== undefined || known.lastRun?.status === "running",
    enabled: row.enabled,
    awaitingCheck: row.awaitingCheck,
    pluginInstalled: installed !== undefined,
    lastFinished: lastFinished && {
      status: lastFinished.status,
      errorCode: lastFinished.errorCode ?? null,
      finishedAt: lastFinished.finishedAt,
    },
    lastSuccessAt: row.lastSuccessAt,
    createdAt: row.createdAt,
    deadLetters: known.dead,
    outboxPending: known.pending,
    intervalSeconds: intervalOf(row, installed),
    lateArrivalSeconds: typeof late === "number" && late > 0 ? late * 60 : 0,
    maxLagSeconds: lags.length > 0 ? Math.max(...lags) : null,
  };
}

/** The integration's interval: its own, or its plugin's default (5 min when neither is known). */
export function intervalOf(row: IntegrationRow, installed?: InstalledPlugin): number {
  return row.intervalSeconds ?? installed?.manifest.schedule.defaultIntervalSeconds ?? 300;
}

/**
 * A stream's lag: how far behind now its records are fully listed (the plugin's progress), or,
 * for a plugin that reports none, the age of its newest alert.
 */
export function lagSeconds(
  stream: { newestAt: string | null; listedAt: string | null },
  now: number,
): number | null {
  const at = stream.listedAt ?? stream.newestAt;
  return at ? Math.max(0, Math.round((now - Date.parse(at)) / 1000)) : null;
}

/** One integration's overview, read on its own (a page about that one integration). */
export async function overviewOf(
  deps: Pick<StatusSources, "store">,
  integrationId: string,
): Promise<IntegrationOverview> {
  const [recent, streams, pending, dead] = await Promise.all([
    deps.store.listRuns(integrationId, 20),
    deps.store.listStreams(integrationId),
    deps.store.pendingCount(integrationId),
    deps.store.deadLetterCount(integrationId),
  ]);
  return {
    lastRun: recent[0] ?? null,
    lastFinished: recent.find((r) => r.status !== "running" && r.kind === "run") ?? null,
    streams,
    pending,
    dead,
  };
}
