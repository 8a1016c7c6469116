/**
 * The shapes the store hands out, and their mapping from SQLite rows.
 * @module
 */
import type { SkippedSpan } from "../types.ts";

/** Invalid records kept per integration; older ones are pruned. */
export const INVALID_KEPT = 1000;

/** A stored integration (secrets still sealed). */
export interface IntegrationRow {
  id: string;
  pluginId: string;
  name: string;
  config: Record<string, unknown>;
  secrets: string;
  destinationUrl: string;
  /** The webhook body's format: `alerts` (SPEC §4) or `ocsf`. */
  destinationFormat: string;
  intervalSeconds: number | null;
  enabled: boolean;
  /** New and paused until a connection check passes (or the operator enables the schedule). */
  awaitingCheck: boolean;
  lastError: string | null;
  lastHint: string | null;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Counts a run accumulates. */
export interface RunCounts {
  fetched: number;
  filtered: number;
  invalid: number;
  alerts: number;
  delivered: number;
  drift: number;
  deadLettered: number;
  /** Alerts a page brought again (already stored within the horizon): neither stored nor sent. */
  duplicates: number;
}

/** What a backfill replays (SPEC §5.3): a past span of some log types. */
export interface BackfillSpan {
  logTypes: string[];
  /** ISO times: the span's start and end, both included. */
  from: string;
  to: string;
  /** Send again the alerts already stored, under new webhook ids, marked `replay: true`. */
  redeliver: boolean;
}

/** A stored run. */
export interface RunRow {
  id: string;
  integrationId: string;
  /** `backfill` for a replay of a past span, `run` for the live pipeline. */
  kind: "run" | "backfill";
  trigger: string;
  /** The host that ran it (HOST_ID, or the machine's name and port); null before it was kept. */
  hostId: string | null;
  status: "running" | "succeeded" | "failed" | "cancelled";
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  /** Spans the run could not read (e.g. older than Mimecast keeps). */
  skipped: SkippedSpan[];
  /** The plugin's own named counts (normalize's `ctx.count`), e.g. rejections per reason. */
  notes: Record<string, number>;
  /** Per stream, the ISO time up to which this run received everything. */
  progress: Record<string, string>;
  /** The span a backfill replays; null for a live run. */
  backfill: BackfillSpan | null;
  error: string | null;
  errorCode: string | null;
  hint: string | null;
}

/** Where a run sits in its integration's history, newest first: its start, then its row number. */
export interface RunPosition {
  startedAt: string;
  seq: number;
}

/** An outbox batch: one webhook request, its id stable across retries. */
export interface BatchRow {
  seq: number;
  webhookId: string;
  integrationId: string;
  runId: string | null;
  body: string;
  alertCount: number;
  status: "pending" | "dead";
  attempts: number;
  lastError: string | null;
  createdAt: string;
  deadAt: string | null;
}

/** One alert of a page, ready for the outbox. */
export interface AlertWrite {
  id: string;
  /** The stream (log type) it belongs to. */
  stream: string;
  occurredAt: string | null;
  /** The alert as the webhook carries it, as JSON text. */
  json: string;
  /** What the alerts store's filters need, read from the normalized alert. */
  summary: AlertSummary;
}

/** The fields of an alert that operators filter and search on (SPEC §5.5). */
export interface AlertSummary {
  alertType?: string;
  threatId?: string;
  sender?: string;
  recipient?: string;
  subject?: string;
  url?: string;
  fileName?: string;
  hash?: string;
}

/**
 * What one fetched page leaves in storage, written in one transaction. Alerts whose id is
 * already stored for the integration are dropped (counted as duplicates); the rest are cut into
 * batches of `batchSize` whose body is `envelope.prefix + alert JSONs joined by "," +
 * envelope.suffix`, each under a new webhook id.
 */
export interface PageWrite {
  integrationId: string;
  runId: string;
  alerts: AlertWrite[];
  envelope: { prefix: string; suffix: string };
  batchSize: number;
  checkpoint: unknown;
  /**
   * Set for a backfill's page: the checkpoint is not kept and the streams' listed times do not
   * move (the live cursors stay as they are). With `replay`, the alerts already stored are put in
   * batches again under that envelope and new webhook ids.
   */
  backfill?: { replay?: { prefix: string; suffix: string } };
  invalid: { record: unknown; issues: unknown }[];
  /** Per stream, the time up to which it is fully listed once this page is stored. */
  listed: { stream: string; at: string }[];
  skipped: SkippedSpan[];
  counts: Pick<RunCounts, "fetched" | "filtered" | "invalid" | "drift">;
  /** Named counts to add to the run's `notes`. */
  notes: Record<string, number>;
  /**
   * False when the host keeps no alerts for operators (HOST_ALERT_RETENTION_DAYS=0): the page's
   * alerts still go to the outbox and their ids are remembered (duplicates are still dropped),
   * but no row of the alerts store is written and their summaries may be empty.
   */
  keepAlerts?: boolean;
}

/** The alerts of a page that were already stored (not in `fresh`), each once: what a replay sends again. */
export function alreadyStored(alerts: AlertWrite[], fresh: AlertWrite[]): AlertWrite[] {
  const seen = new Set(fresh.map((a) => a.id));
  const out: AlertWrite[] = [];
  for (const alert of alerts) {
    if (seen.has(alert.id)) continue;
    seen.add(alert.id);
    out.push(alert);
  }
  return out;
}

/** A row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/**
 * What the scheduler reads of one integration each tick: its schedule, when its last run ended
 * (shared by every host) and its newest run, wherever it ran (an interrupted one is due at once).
 */
export interface ScheduleRow {
  id: string;
  pluginId: string;
  enabled: boolean;
  intervalSeconds: number | null;
  lastRunAt: string | null;
  /** Its newest run, whatever its kind or state; null before its first. */
  newestRun: { id: string; status: string; errorCode: string | null } | null;
}

/**
 * A schedule row from either database's query (`enabled` is 1 in SQLite, true in PostgreSQL; the
 * newest run's columns are `run_id`, `run_status`, `run_error_code`, null before its first).
 */
export function scheduleRowFrom(r: Row): ScheduleRow {
  return {
    id: String(r.id),
    pluginId: String(r.plugin_id),
    enabled: Number(r.enabled) === 1,
    intervalSeconds: r.interval_seconds === null ? null : Number(r.interval_seconds),
    lastRunAt: r.last_run_at === null ? null : String(r.last_run_at),
    newestRun: r.run_id === null ? null : {
      id: String(r.run_id),
      status: String(r.run_status),
      errorCode: r.run_error_code === null ? null : String(r.run_error_code),
    },
  };
}

/** An integration row. */
export function integrationFrom(r: Row): IntegrationRow {
  return {
    id: String(r.id),
    pluginId: String(r.plugin_id),
    name: String(r.name),
    config: JSON.parse(String(r.config)),
    secrets: String(r.secrets),
    destinationUrl: String(r.destination_url),
    destinationFormat: String(r.destination_format ?? "alerts"),
    intervalSeconds: r.interval_seconds === null ? null : Number(r.interval_seconds),
    enabled: Number(r.enabled) === 1,
    awaitingCheck: Number(r.awaiting_check ?? 0) === 1,
    lastError: (r.last_error as string | null) ?? null,
    lastHint: (r.last_hint as string | null) ?? null,
    lastRunAt: (r.last_run_at as string | null) ?? null,
    lastSuccessAt: (r.last_success_at as string | null) ?? null,
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

/** A batch row. */
export function batchFrom(r: Row): BatchRow {
  return {
    seq: Number(r.seq),
    webhookId: String(r.webhook_id),
    integrationId: String(r.integration_id),
    runId: (r.run_id as string | null) ?? null,
    body: String(r.body),
    alertCount: Number(r.alert_count),
    status: r.status as BatchRow["status"],
    attempts: Number(r.attempts),
    lastError: (r.last_error as string | null) ?? null,
    createdAt: String(r.created_at),
    deadAt: (r.dead_at as string | null) ?? null,
  };
}

/** A run row. */
export function runFrom(r: Row): RunRow {
  const backfill = r.backfill ? JSON.parse(String(r.backfill)) as BackfillSpan : null;
  return {
    id: String(r.id),
    integrationId: String(r.integration_id),
    kind: backfill ? "backfill" : "run",
    trigger: String(r.trigger),
    hostId: (r.host_id as string | null | undefined) ?? null,
    status: r.status as RunRow["status"],
    startedAt: String(r.started_at),
    finishedAt: (r.finished_at as string | null) ?? null,
    counts: {
      fetched: Number(r.fetched),
      filtered: Number(r.filtered),
      invalid: Number(r.invalid),
      alerts: Number(r.alerts),
      delivered: Number(r.delivered),
      drift: Number(r.drift),
      deadLettered: Number(r.dead_lettered),
      duplicates: Number(r.duplicates ?? 0),
    },
    skipped: r.skipped ? JSON.parse(String(r.skipped)) : [],
    notes: r.notes ? JSON.parse(String(r.notes)) : {},
    progress: r.progress ? JSON.parse(String(r.progress)) : {},
    backfill,
    error: (r.error as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    hint: (r.hint as string | null) ?? null,
  };
}
