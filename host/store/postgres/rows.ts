/**
 * PostgreSQL rows as the shapes the contract hands out. postgres.js returns `bigint` and
 * `count(*)` as strings (they may pass 2^53), so every number goes through `Number`.
 * @module
 */
import type postgres from "postgres";
import type { BackfillSpan, BatchRow, IntegrationRow, RunRow } from "../rows.ts";

/** A row as postgres.js returns it. */
export type Row = Record<string, unknown>;

const nullable = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);
const json = <T>(value: unknown, empty: T): T => value ? JSON.parse(String(value)) : empty;

/** An integration row. */
export function integrationFrom(r: Row): IntegrationRow {
  return {
    id: String(r.id),
    pluginId: String(r.plugin_id),
    name: String(r.name),
    config: JSON.parse(String(r.config)),
    secrets: String(r.secrets),
    destinationUrl: String(r.destination_url),
    destinationFormat: String(r.destination_format),
    intervalSeconds: r.interval_seconds === null ? null : Number(r.interval_seconds),
    enabled: r.enabled === true,
    awaitingCheck: r.awaiting_check === true,
    lastError: nullable(r.last_error),
    lastHint: nullable(r.last_hint),
    lastRunAt: nullable(r.last_run_at),
    lastSuccessAt: nullable(r.last_success_at),
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
    runId: nullable(r.run_id),
    body: String(r.body),
    alertCount: Number(r.alert_count),
    status: r.status as BatchRow["status"],
    attempts: Number(r.attempts),
    lastError: nullable(r.last_error),
    createdAt: String(r.created_at),
    deadAt: nullable(r.dead_at),
  };
}

/** A run row. */
export function runFrom(r: Row): RunRow {
  const backfill = json<BackfillSpan | null>(r.backfill, null);
  return {
    id: String(r.id),
    integrationId: String(r.integration_id),
    kind: backfill ? "backfill" : "run",
    trigger: String(r.trigger),
    hostId: nullable(r.host_id),
    status: r.status as RunRow["status"],
    startedAt: String(r.started_at),
    finishedAt: nullable(r.finished_at),
    counts: {
      fetched: Number(r.fetched),
      filtered: Number(r.filtered),
      invalid: Number(r.invalid),
      alerts: Number(r.alerts),
      delivered: Number(r.delivered),
      drift: Number(r.drift),
      deadLettered: Number(r.dead_lettered),
      duplicates: Number(r.duplicates),
    },
    skipped: json(r.skipped, []),
    notes: json(r.notes, {}),
    progress: json(r.progress, {}),
    backfill,
    error: nullable(r.error),
    errorCode: nullable(r.error_code),
    hint: nullable(r.hint),
  };
}

/** A connection to run statements on: the pool, or a transaction of it. */
export type Db = postgres.Sql | postgres.TransactionSql;
