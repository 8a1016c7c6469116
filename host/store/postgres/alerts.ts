/**
 * The stored alerts (SPEC §5.5) in PostgreSQL: SQLite's `alerts` table and behaviour (`../alerts.ts`),
 * the free text searched with `strpos` over the column the host lowercased.
 * @module
 */
import type postgres from "postgres";
import type { AlertStoreContract } from "../contract.ts";
import {
  type AlertCursor,
  type AlertFilter,
  PRUNE_ROWS,
  searchText,
  type StoredAlert,
} from "../alerts.ts";
import type { AlertWrite } from "../rows.ts";
import type { Db, Row } from "./rows.ts";

/** Alerts inserted per statement (16 parameters each, under PostgreSQL's 65535). */
const CHUNK = 1000;

const optional = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

function storedFrom(r: Row): StoredAlert {
  const alert: StoredAlert = {
    seq: Number(r.seq),
    id: String(r.alert_id),
    integrationId: String(r.integration_id),
    runId: optional(r.run_id) ?? null,
    logType: String(r.log_type),
    alertType: optional(r.alert_type),
    threatId: optional(r.threat_id),
    occurredMs: Number(r.occurred_ms),
    storedMs: Number(r.stored_ms),
    sender: optional(r.sender),
    recipient: optional(r.recipient),
    subject: optional(r.subject),
    url: optional(r.url),
    fileName: optional(r.file_name),
    hash: optional(r.hash),
    json: String(r.json),
  };
  return alert;
}

/** Keeps a page's fresh alerts; called with the page's transaction. */
export async function keepAlerts(
  tx: Db,
  page: { integrationId: string; runId: string; alerts: AlertWrite[]; nowMs: number },
): Promise<void> {
  const rows = page.alerts.map((alert) => {
    const s = alert.summary;
    const occurred = alert.occurredAt ? Date.parse(alert.occurredAt) : NaN;
    return {
      integration_id: page.integrationId,
      run_id: page.runId,
      alert_id: alert.id,
      log_type: alert.stream,
      alert_type: s.alertType ?? null,
      threat_id: s.threatId ?? null,
      occurred_ms: Number.isNaN(occurred) ? page.nowMs : occurred,
      stored_ms: page.nowMs,
      sender: s.sender ?? null,
      recipient: s.recipient ?? null,
      subject: s.subject ?? null,
      url: s.url ?? null,
      file_name: s.fileName ?? null,
      hash: s.hash ?? null,
      search: searchText(s),
      json: alert.json,
    };
  });
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx`INSERT INTO alerts ${tx(rows.slice(i, i + CHUNK))}`;
  }
}

/** The `alerts` table. */
export class PostgresAlerts implements AlertStoreContract {
  #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async list(
    filter: AlertFilter,
    options: { before?: AlertCursor; limit: number },
  ): Promise<StoredAlert[]> {
    const sql = this.#sql;
    const where: postgres.PendingQuery<postgres.Row[]>[] = [];
    if (filter.integrationId !== undefined) {
      where.push(sql`integration_id = ${filter.integrationId}`);
    }
    if (filter.logType !== undefined) where.push(sql`log_type = ${filter.logType}`);
    if (filter.alertType !== undefined) where.push(sql`alert_type = ${filter.alertType}`);
    if (filter.threatId !== undefined) where.push(sql`threat_id = ${filter.threatId}`);
    if (filter.fromMs !== undefined) where.push(sql`occurred_ms >= ${filter.fromMs}`);
    if (filter.toMs !== undefined) where.push(sql`occurred_ms < ${filter.toMs}`);
    if (filter.q) where.push(sql`strpos(search, ${filter.q.toLowerCase()}) > 0`);
    if (options.before) {
      where.push(
        sql`(occurred_ms, seq) < (${options.before.occurredMs}::bigint, ${options.before.seq}::bigint)`,
      );
    }
    const condition = where.reduce((all, one) => sql`${all} AND ${one}`, sql`TRUE`);
    const rows = await sql`SELECT * FROM alerts WHERE ${condition}
      ORDER BY occurred_ms DESC, seq DESC LIMIT ${options.limit}`;
    return rows.map(storedFrom);
  }

  async prune(beforeMs: number): Promise<number> {
    const result = await this.#sql`DELETE FROM alerts WHERE seq IN (
      SELECT seq FROM alerts WHERE stored_ms < ${beforeMs} LIMIT ${PRUNE_ROWS})`;
    return result.count;
  }
}
