/**
 * The stored alerts in SQLite (SPEC §5.5): every alert a page stored, kept for the retention with
 * the fields operators filter on beside the alert as delivered; listed newest first from a cursor,
 * and pruned a bounded number of rows at a time.
 * @module
 */
// node:sqlite answers synchronously; the methods are async to keep the contract, and async
// rather than Promise.resolve so that a failing statement rejects as a server database's would.
// deno-lint-ignore-file require-await
import type { StatementSync } from "node:sqlite";
import type { AlertStoreContract } from "../contract.ts";
import type { AlertSummary, AlertWrite, Row } from "../rows.ts";
import {
  type AlertCursor,
  type AlertFilter,
  PRUNE_ROWS,
  searchText,
  type StoredAlert,
} from "../alerts.ts";

const nullable = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

/** Alerts inserted per statement (16 parameters each, well under SQLite's 32,766). */
const KEEP_CHUNK = 100;
const ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),";

/** A character SQLite's lower() might not lowercase as the host's toLowerCase() does. */
const NOT_PLAIN_ASCII = /[^\x20-\x7e]/;

/**
 * The search column's value: empty when the free-text fields are printable ASCII, since SQLite's
 * lower() then lowercases them exactly as `searchText` would (SEARCH computes it when reading);
 * otherwise the text `searchText` gives. Most alerts are ASCII, so most rows no longer hold a
 * second lowercased copy of their fields: less to build and write for every page.
 */
function searchColumn(s: AlertSummary): string {
  for (const value of [s.sender, s.recipient, s.subject, s.url, s.fileName, s.hash]) {
    if (value !== undefined && NOT_PLAIN_ASCII.test(value)) return searchText(s);
  }
  return "";
}

/** The text searched: the stored one, or for an empty one the fields lowercased by SQLite. */
const SEARCH = `CASE search WHEN '' THEN
  lower(concat_ws(char(10), sender, recipient, subject, url, file_name, hash)) ELSE search END`;

function storedFrom(r: Row): StoredAlert {
  return {
    seq: Number(r.seq),
    id: String(r.alert_id),
    integrationId: String(r.integration_id),
    runId: nullable(r.run_id) ?? null,
    logType: String(r.log_type),
    alertType: nullable(r.alert_type),
    threatId: nullable(r.threat_id),
    occurredMs: Number(r.occurred_ms),
    storedMs: Number(r.stored_ms),
    sender: nullable(r.sender),
    recipient: nullable(r.recipient),
    subject: nullable(r.subject),
    url: nullable(r.url),
    fileName: nullable(r.file_name),
    hash: nullable(r.hash),
    json: String(r.json),
  };
}

/** The `alerts` table; statements come prepared from the store that owns the connection. */
export class AlertStore implements AlertStoreContract {
  #sql: (sql: string) => StatementSync;

  constructor(sql: (sql: string) => StatementSync) {
    this.#sql = sql;
  }

  /**
   * Keeps a page's fresh alerts; called inside the page's transaction. Rows go in multi-row
   * statements of up to KEEP_CHUNK: each statement's call into SQLite costs more than its rows.
   */
  keep(page: { integrationId: string; runId: string }, alerts: AlertWrite[], nowMs: number): void {
    for (let i = 0; i < alerts.length; i += KEEP_CHUNK) {
      const chunk = alerts.slice(i, i + KEEP_CHUNK);
      const params: (string | number | null)[] = [];
      for (const alert of chunk) {
        const s = alert.summary;
        const occurred = alert.occurredAt ? Date.parse(alert.occurredAt) : NaN;
        params.push(
          page.integrationId,
          page.runId,
          alert.id,
          alert.stream,
          s.alertType ?? null,
          s.threatId ?? null,
          Number.isNaN(occurred) ? nowMs : occurred,
          nowMs,
          s.sender ?? null,
          s.recipient ?? null,
          s.subject ?? null,
          s.url ?? null,
          s.fileName ?? null,
          s.hash ?? null,
          searchColumn(s),
          alert.json,
        );
      }
      this.#sql(
        `INSERT INTO alerts (integration_id, run_id, alert_id, log_type, alert_type, threat_id, occurred_ms, stored_ms,
           sender, recipient, subject, url, file_name, hash, search, json)
         VALUES ${ROW.repeat(chunk.length).slice(0, -1)}`,
      ).run(...params);
    }
  }

  /** Up to `limit` alerts matching `filter`, newest first, after `before` when given. */
  async list(
    filter: AlertFilter,
    options: { before?: AlertCursor; limit: number },
  ): Promise<StoredAlert[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const equal: [keyof AlertFilter, string][] = [
      ["integrationId", "integration_id"],
      ["logType", "log_type"],
      ["alertType", "alert_type"],
      ["threatId", "threat_id"],
    ];
    for (const [key, column] of equal) {
      if (filter[key] !== undefined) {
        where.push(`${column} = ?`);
        params.push(filter[key]);
      }
    }
    if (filter.fromMs !== undefined) {
      where.push("occurred_ms >= ?");
      params.push(filter.fromMs);
    }
    if (filter.toMs !== undefined) {
      where.push("occurred_ms < ?");
      params.push(filter.toMs);
    }
    if (filter.q) {
      where.push(`instr(${SEARCH}, ?) > 0`);
      params.push(filter.q.toLowerCase());
    }
    if (options.before) {
      where.push("(occurred_ms, seq) < (?, ?)");
      params.push(options.before.occurredMs, options.before.seq);
    }
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY occurred_ms DESC, seq DESC LIMIT ?`;
    return (this.#sql(sql).all(...params, options.limit) as Row[]).map(storedFrom);
  }

  /** Deletes up to PRUNE_ROWS alerts stored before `beforeMs`; returns how many. */
  async prune(beforeMs: number): Promise<number> {
    return Number(
      this.#sql(
        "DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE stored_ms < ? LIMIT ?)",
      ).run(beforeMs, PRUNE_ROWS).changes,
    );
  }
}
