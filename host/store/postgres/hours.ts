/**
 * The charts' hours (SPEC §5.8) in PostgreSQL: SQLite's `stream_hours` (`../stream_hours.ts`).
 * @module
 */
import type postgres from "postgres";
import type { StreamHoursContract } from "../contract.ts";
import { hourOf, type StreamHour } from "../stream_hours.ts";
import type { Db } from "./rows.ts";

/** Counts `n` alerts stored now for a log type; called with the page's transaction. */
export async function addHourAlerts(
  tx: Db,
  hour: { integrationId: string; logType: string; n: number; nowMs: number },
): Promise<void> {
  await tx`INSERT INTO stream_hours (integration_id, log_type, hour_ms, alerts)
    VALUES (${hour.integrationId}, ${hour.logType}, ${hourOf(hour.nowMs)}, ${hour.n})
    ON CONFLICT (integration_id, hour_ms, log_type)
    DO UPDATE SET alerts = stream_hours.alerts + excluded.alerts`;
}

/** The `stream_hours` table. */
export class PostgresHours implements StreamHoursContract {
  #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async noteLags(
    integrationId: string,
    lags: { logType: string; lagSeconds: number }[],
    nowMs: number,
  ): Promise<void> {
    // GREATEST ignores NULL: an hour keeps the largest lag it saw.
    for (const { logType, lagSeconds } of lags) {
      await this.#sql`INSERT INTO stream_hours (integration_id, log_type, hour_ms, lag_seconds)
        VALUES (${integrationId}, ${logType}, ${hourOf(nowMs)}, ${lagSeconds})
        ON CONFLICT (integration_id, hour_ms, log_type)
        DO UPDATE SET lag_seconds = GREATEST(stream_hours.lag_seconds, excluded.lag_seconds)`;
    }
  }

  async list(integrationId: string, fromMs: number, toMs: number): Promise<StreamHour[]> {
    const rows = await this.#sql`SELECT log_type, hour_ms, alerts, lag_seconds FROM stream_hours
      WHERE integration_id = ${integrationId} AND hour_ms >= ${fromMs} AND hour_ms < ${toMs}
      ORDER BY hour_ms, log_type`;
    return rows.map((r) => ({
      logType: String(r.log_type),
      hourMs: Number(r.hour_ms),
      alerts: Number(r.alerts),
      lagSeconds: r.lag_seconds === null ? null : Number(r.lag_seconds),
    }));
  }

  async alertsByIntegration(
    fromMs: number,
    toMs: number,
  ): Promise<{ integrationId: string; hourMs: number; alerts: number }[]> {
    const rows = await this.#sql`SELECT integration_id, hour_ms, SUM(alerts) AS alerts
      FROM stream_hours WHERE hour_ms >= ${fromMs} AND hour_ms < ${toMs}
      GROUP BY integration_id, hour_ms`;
    return rows.map((r) => ({
      integrationId: String(r.integration_id),
      hourMs: Number(r.hour_ms),
      alerts: Number(r.alerts),
    }));
  }

  async prune(beforeMs: number): Promise<number> {
    const result = await this.#sql`DELETE FROM stream_hours WHERE hour_ms < ${hourOf(beforeMs)}`;
    return result.count;
  }
}
