/**
 * The console's chart data in SQLite (SPEC §5.8): per integration, log type and UTC hour, the
 * alerts stored in that hour and the largest lag seen at the end of a run in it. Counted as pages
 * are stored, so a chart reads one row per hour and log type, never the alerts themselves.
 * @module
 */
// node:sqlite answers synchronously; the methods are async to keep the contract.
// deno-lint-ignore-file require-await
import type { StatementSync } from "node:sqlite";
import type { StreamHoursContract } from "../contract.ts";
import type { Row } from "../rows.ts";
import { hourOf, type StreamHour } from "../stream_hours.ts";

/** The `stream_hours` table; statements come prepared from the store that owns the connection. */
export class StreamHours implements StreamHoursContract {
  #sql: (sql: string) => StatementSync;

  constructor(sql: (sql: string) => StatementSync) {
    this.#sql = sql;
  }

  /** Counts `n` alerts stored now for a log type; called inside the page's transaction. */
  addAlerts(integrationId: string, logType: string, n: number, nowMs: number): void {
    this.#sql(
      `INSERT INTO stream_hours (integration_id, log_type, hour_ms, alerts) VALUES (?, ?, ?, ?)
       ON CONFLICT(integration_id, hour_ms, log_type) DO UPDATE SET alerts = alerts + excluded.alerts`,
    ).run(integrationId, logType, hourOf(nowMs), n);
  }

  /** Notes each log type's lag at the end of a run; an hour keeps the largest it saw. */
  async noteLags(
    integrationId: string,
    lags: { logType: string; lagSeconds: number }[],
    nowMs: number,
  ): Promise<void> {
    const upsert = this.#sql(
      `INSERT INTO stream_hours (integration_id, log_type, hour_ms, lag_seconds) VALUES (?, ?, ?, ?)
       ON CONFLICT(integration_id, hour_ms, log_type) DO UPDATE SET
         lag_seconds = MAX(COALESCE(lag_seconds, excluded.lag_seconds), excluded.lag_seconds)`,
    );
    for (const { logType, lagSeconds } of lags) {
      upsert.run(integrationId, logType, hourOf(nowMs), lagSeconds);
    }
  }

  /** An integration's stored hours in [fromMs, toMs), oldest first. */
  async list(integrationId: string, fromMs: number, toMs: number): Promise<StreamHour[]> {
    const rows = this.#sql(
      `SELECT log_type, hour_ms, alerts, lag_seconds FROM stream_hours
       WHERE integration_id = ? AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms, log_type`,
    ).all(integrationId, fromMs, toMs) as Row[];
    return rows.map((r) => ({
      logType: String(r.log_type),
      hourMs: Number(r.hour_ms),
      alerts: Number(r.alerts),
      lagSeconds: r.lag_seconds === null ? null : Number(r.lag_seconds),
    }));
  }

  /**
   * Every integration's alerts per hour in [fromMs, toMs), all log types together: one grouped
   * read of the by-hour index (which holds every column it needs), however many integrations.
   */
  async alertsByIntegration(
    fromMs: number,
    toMs: number,
  ): Promise<{ integrationId: string; hourMs: number; alerts: number }[]> {
    const rows = this.#sql(
      `SELECT integration_id, hour_ms, SUM(alerts) AS alerts FROM stream_hours
       WHERE hour_ms >= ? AND hour_ms < ? GROUP BY integration_id, hour_ms`,
    ).all(fromMs, toMs) as Row[];
    return rows.map((r) => ({
      integrationId: String(r.integration_id),
      hourMs: Number(r.hour_ms),
      alerts: Number(r.alerts),
    }));
  }

  /** Forgets the hours before `beforeMs` (the alerts' retention); returns how many rows. */
  async prune(beforeMs: number): Promise<number> {
    return Number(
      this.#sql("DELETE FROM stream_hours WHERE hour_ms < ?").run(hourOf(beforeMs)).changes,
    );
  }
}
