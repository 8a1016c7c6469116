/**
 * The stored alerts (SPEC §5.5), database-neutral parts: the filter and cursor of a listing, a
 * stored alert's shape, and the fields operators filter on (`summaryOf`, `searchText`). Each
 * store keeps them in its own table (`./sqlite/alerts.ts`, `./postgres/`).
 * @module
 */
import type { AlertSummary } from "./rows.ts";

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

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/**
 * The filter fields of a normalized alert (plugin/normalize.ts's shape); a field that is missing
 * or not text (a plugin's output is not trusted) is left out. Set one by one rather than built
 * and filtered: this runs for every alert a page stores.
 */
export function summaryOf(normalized: object): AlertSummary {
  const alert = normalized as Record<string, unknown>;
  const summary: AlertSummary = {};
  const put = (key: keyof AlertSummary, value: unknown) => {
    if (typeof value === "string" && value !== "") summary[key] = value;
  };
  put("alertType", alert.alertType);
  put("threatId", alert.threatId);
  put("sender", field(alert.email, "from"));
  put("recipient", field(alert.email, "to"));
  put("subject", field(alert.email, "subject"));
  put("url", alert.url);
  put("fileName", field(alert.file, "name"));
  put("hash", field(alert.file, "sha256"));
  return summary;
}

/**
 * The free-text fields, lowercased here: SQLite's lower() only knows ASCII (and both stores
 * then search the same text).
 */
export function searchText(s: AlertSummary): string {
  return [s.sender, s.recipient, s.subject, s.url, s.fileName, s.hash]
    .filter((v) => v !== undefined).join("\n").toLowerCase();
}
