/**
 * `GET /api/alerts` (SPEC §5.5): the stored alerts across integrations, newest first, one page at
 * a time from an opaque cursor, or every match streamed as NDJSON or CSV. Alerts hold no secret
 * (they are exactly what the webhook received), so nothing here needs the redactor.
 * @module
 */
import { Hono } from "hono";
import type { AlertCursor, AlertFilter, HostStore, StoredAlert } from "./store/mod.ts";

/** Alerts per page when `limit` is not given, and the most one page may hold. */
const LIMIT_DEFAULT = 50;
const LIMIT_MAX = 500;
/** Alerts read from the database per step of an export. */
const EXPORT_CHUNK = 500;

const PARAMS = new Set([
  "integrationId",
  "logType",
  "alertType",
  "threatId",
  "from",
  "to",
  "q",
  "before",
  "limit",
  "format",
]);

/** The CSV export's columns, in order. */
const CSV_COLUMNS = [
  "id",
  "integrationId",
  "runId",
  "logType",
  "alertType",
  "threatId",
  "occurredAt",
  "storedAt",
  "sender",
  "recipient",
  "subject",
  "url",
  "fileName",
  "hash",
] as const;

/** A request's query, checked. */
export interface AlertQuery {
  filter: AlertFilter;
  before?: AlertCursor;
  limit: number;
  format: "json" | "ndjson" | "csv";
}

/** The cursor after an alert: opaque to clients. */
function cursorOf(alert: StoredAlert): string {
  return btoa(`${alert.occurredMs}.${alert.seq}`).replace(/=+$/, "");
}

function cursorFrom(text: string): AlertCursor | undefined {
  let plain: string;
  try {
    plain = atob(text);
  } catch {
    return undefined;
  }
  const match = /^(-?\d{1,16})\.(\d{1,16})$/.exec(plain);
  return match ? { occurredMs: Number(match[1]), seq: Number(match[2]) } : undefined;
}

/** An ISO time in epoch ms, or undefined when it is not one. */
function isoMs(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function parseQuery(query: Record<string, string>): AlertQuery | string {
  const unknown = Object.keys(query).filter((name) => !PARAMS.has(name));
  if (unknown.length > 0) {
    return `Unknown query parameter ${unknown.join(", ")}: use ${[...PARAMS].join(", ")}`;
  }
  const filter: AlertFilter = {};
  for (const name of ["integrationId", "logType", "alertType", "threatId", "q"] as const) {
    if (query[name] !== undefined && query[name] !== "") filter[name] = query[name];
  }
  for (const name of ["from", "to"] as const) {
    if (query[name] === undefined) continue;
    const ms = isoMs(query[name]);
    if (ms === undefined) {
      return `${name} must be an ISO time such as 2025-03-04T08:00:00Z, not "${query[name]}"`;
    }
    filter[name === "from" ? "fromMs" : "toMs"] = ms;
  }
  let limit = LIMIT_DEFAULT;
  if (query.limit !== undefined) {
    limit = /^\d{1,4}$/.test(query.limit) ? Number(query.limit) : 0;
    if (limit < 1 || limit > LIMIT_MAX) {
      return `limit must be a whole number from 1 to ${LIMIT_MAX}, not "${query.limit}"`;
    }
  }
  let before: AlertCursor | undefined;
  if (query.before !== undefined) {
    before = cursorFrom(query.before);
    if (!before) return "before must be the next cursor of an earlier page of /api/alerts";
  }
  const format = query.format ?? "json";
  if (format !== "json" && format !== "ndjson" && format !== "csv") {
    return `format must be json, ndjson or csv, not "${format}"`;
  }
  return { filter, before, limit, format };
}

/** A stored alert as the API shows it: its fields and the alert as delivered. */
function alertView(alert: StoredAlert) {
  return {
    id: alert.id,
    integrationId: alert.integrationId,
    runId: alert.runId,
    logType: alert.logType,
    alertType: alert.alertType ?? null,
    threatId: alert.threatId ?? null,
    occurredAt: new Date(alert.occurredMs).toISOString(),
    storedAt: new Date(alert.storedMs).toISOString(),
    alert: JSON.parse(alert.json),
  };
}

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, a comma or a line break. A field that
 * a spreadsheet would take for a formula (starting with =, +, -, @, a tab or a carriage return:
 * a subject or a URL is the sender's text) gets a leading ' so it opens as text (OWASP's CSV
 * injection advice).
 */
export function csvField(value: unknown): string {
  const raw = value === null || value === undefined ? "" : String(value);
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(values: unknown[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

function csvRow(alert: StoredAlert): string {
  const view = alertView(alert);
  const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    ...view,
    sender: alert.sender,
    recipient: alert.recipient,
    subject: alert.subject,
    url: alert.url,
    fileName: alert.fileName,
    hash: alert.hash,
  };
  return csvLine(CSV_COLUMNS.map((column) => row[column]));
}

/**
 * Every alert matching `filter`, read a chunk at a time as the client takes them: the export
 * never holds more than one chunk, however many alerts match.
 */
function exportStream(
  store: Pick<HostStore, "alerts">,
  query: AlertQuery,
  line: (alert: StoredAlert) => string,
  header = "",
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let before = query.before;
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      const chunk = await store.alerts.list(query.filter, { before, limit: EXPORT_CHUNK });
      const text = (started ? "" : header) + chunk.map(line).join("");
      started = true;
      if (text !== "") controller.enqueue(encoder.encode(text));
      if (chunk.length < EXPORT_CHUNK) controller.close();
      else before = chunk[chunk.length - 1];
    },
  }, { highWaterMark: 0 });
}

/** One page of a listing, and the cursor of the next when there is one. */
export async function alertPage(
  store: Pick<HostStore, "alerts">,
  query: AlertQuery,
): Promise<{ alerts: StoredAlert[]; next: string | null }> {
  const rows = await store.alerts.list(query.filter, {
    before: query.before,
    limit: query.limit + 1,
  });
  const alerts = rows.slice(0, query.limit);
  return { alerts, next: rows.length > query.limit ? cursorOf(alerts[alerts.length - 1]) : null };
}

/** The `/alerts` routes, mounted under `/api` behind its admin-token check. */
export function alertRoutes(store: Pick<HostStore, "alerts">): Hono {
  const routes = new Hono();
  routes.get("/", async (c) => {
    const query = parseQuery(c.req.query());
    if (typeof query === "string") return c.json({ error: query, code: "REQUEST_MALFORMED" }, 400);
    if (query.format === "ndjson") {
      return c.body(
        exportStream(store, query, (a) => JSON.stringify(alertView(a)) + "\n"),
        200,
        {
          "Content-Type": "application/x-ndjson",
          "Content-Disposition": 'attachment; filename="alerts.ndjson"',
        },
      );
    }
    if (query.format === "csv") {
      return c.body(exportStream(store, query, csvRow, csvLine([...CSV_COLUMNS])), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="alerts.csv"',
      });
    }
    const { alerts, next } = await alertPage(store, query);
    return c.json({ alerts: alerts.map(alertView), next });
  });
  return routes;
}
