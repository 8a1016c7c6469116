/**
 * The stored alerts (SPEC §5.5): every alert a page stored, kept for the retention with the
 * fields operators filter on beside the alert as delivered; listed newest first from a cursor,
 * and pruned a bounded number of rows at a time.
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { AlertSummary, AlertWrite, Row } from "./rows.ts";

/** Days alerts are kept when HOST_ALERT_RETENTION_DAYS is not set. */
export const ALERT_RETENTION_DAYS = 30;

/** Rows one prune deletes at most: a long-idle host catches up over a few runs, never at once. */
export const PRUNE_ROWS = 10_000;

/** Where a page of a listing ends: the last alert's time and sequence number. */
export interface AlertCursor {
  occurredMs: number;
  seq: number;
}

/** Which stored alerts to list; every field narrows. */
export interface AlertFilter {
  integrationId?: string;
  logType?: string;
  alertType?: string;
  threatId?: string;
  /** Occurred at or after (epoch ms). */
  fromMs?: number;
  /** Occurred before (epoch ms). */
  toMs?: number;
  /** Free text, case-insensitive, over sender, recipient, subject, URL, file name and hash. */
  q?: string;
}

/** A stored alert. */
export interface StoredAlert extends AlertSummary {
  seq: number;
  id: string;
  integrationId: string;
  runId: string | null;
  logType: string;
  occurredMs: number;
  storedMs: number;
  /** The alert as it was delivered, as JSON text. */
  json: string;
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/**
 * The filter fields of a normalized alert (plugin/normalize.ts's shape); a field that is missing
 * or not text (a plugin's output is not trusted) is left out.
 */
export function summaryOf(normalized: object): AlertSummary {
  const alert = normalized as Record<string, unknown>;
  const summary: AlertSummary = {
    alertType: text(alert.alertType),
    threatId: text(alert.threatId),
    sender: text(field(alert.email, "from")),
    recipient: text(field(alert.email, "to")),
    subject: text(field(alert.email, "subject")),
    url: text(alert.url),
    fileName: text(field(alert.file, "name")),
    hash: text(field(alert.file, "sha256")),
  };
  return Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== undefined));
}

/** The free-text fields, lowercased here: SQLite's lower() only knows ASCII. */
export function searchText(s: AlertSummary): string {
  return [s.sender, s.recipient, s.subject, s.url, s.fileName, s.hash]
    .filter((v) => v !== undefined).join("\n").toLowerCase();
}

const nullable = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

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
export class AlertStore {
  #sql: (sql: string) => StatementSync;

  constructor(sql: (sql: string) => StatementSync) {
    this.#sql = sql;
  }

  /** Keeps a page's fresh alerts; called inside the page's transaction. */
  keep(page: { integrationId: string; runId: string }, alerts: AlertWrite[], nowMs: number): void {
    const insert = this.#sql(
      `INSERT INTO alerts (integration_id, run_id, alert_id, log_type, alert_type, threat_id, occurred_ms, stored_ms,
         sender, recipient, subject, url, file_name, hash, search, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const alert of alerts) {
      const s = alert.summary;
      const occurred = alert.occurredAt ? Date.parse(alert.occurredAt) : NaN;
      insert.run(
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
        searchText(s),
        alert.json,
      );
    }
  }

  /** Up to `limit` alerts matching `filter`, newest first, after `before` when given. */
  list(filter: AlertFilter, options: { before?: AlertCursor; limit: number }): StoredAlert[] {
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
      where.push("instr(search, ?) > 0");
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
  prune(beforeMs: number): number {
    return Number(
      this.#sql(
        "DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE stored_ms < ? LIMIT ?)",
      ).run(beforeMs, PRUNE_ROWS).changes,
    );
  }
}
