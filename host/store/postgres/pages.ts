/**
 * What storing a page writes besides its alerts, each step called with the page's transaction:
 * the ids of stored alerts (duplicates within the horizon), outbox batches, invalid records,
 * streams and the run's counts. The same steps, in the same order, as the SQLite store.
 * @module
 */
import type { SkippedSpan } from "../../types.ts";
import { INVALID_KEPT, type PageWrite, type RunCounts } from "../rows.ts";
import type { AlertWrite } from "../rows.ts";
import type { Db } from "./rows.ts";
import { addHourAlerts } from "./hours.ts";

/** Alert ids inserted per statement (three parameters each). */
const ID_CHUNK = 5000;

/** An ISO time in epoch seconds, or `fallback` when there is none. */
function secondsOf(iso: string | null, fallback: number): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? fallback : Math.floor(ms / 1000);
}

/**
 * Records the alerts' ids; returns the alerts whose id was not stored yet, first of each. An
 * alert is known by its id and its time; one without a time is filed under the moment it is
 * stored.
 */
export async function keepNewAlerts(
  tx: Db,
  integrationId: string,
  options: { alerts: AlertWrite[]; nowMs: number },
): Promise<AlertWrite[]> {
  const { alerts } = options;
  if (alerts.length === 0) return alerts;
  const now = Math.floor(options.nowMs / 1000);
  const inserted = new Set<string>();
  // In key order, so that two pages of one integration stored at once (a live run and a
  // backfill) wait for each other's ids in the same order instead of deadlocking.
  const keys = alerts.map((a) => ({
    integration_id: integrationId,
    occurred_at: secondsOf(a.occurredAt, now),
    alert_id: a.id,
  })).sort((x, y) =>
    x.occurred_at - y.occurred_at ||
    (x.alert_id < y.alert_id ? -1 : x.alert_id > y.alert_id ? 1 : 0)
  );
  for (let i = 0; i < keys.length; i += ID_CHUNK) {
    const rows = keys.slice(i, i + ID_CHUNK);
    // DO NOTHING also skips an id repeated within the statement, as SQLite does.
    const returned = await tx`INSERT INTO alert_ids ${tx(rows)}
      ON CONFLICT DO NOTHING RETURNING alert_id`;
    for (const row of returned) inserted.add(String(row.alert_id));
  }
  if (inserted.size === alerts.length) return alerts;
  return alerts.filter((a) => inserted.delete(a.id));
}

/** Puts alerts in the outbox, `batchSize` to a webhook request, each under a new webhook id. */
export async function batch(
  tx: Db,
  page: PageWrite,
  options: { alerts: AlertWrite[]; envelope: { prefix: string; suffix: string }; at: string },
): Promise<void> {
  const { alerts, envelope } = options;
  const rows = [];
  for (let i = 0; i < alerts.length; i += page.batchSize) {
    const chunk = alerts.slice(i, i + page.batchSize);
    rows.push({
      webhook_id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
      integration_id: page.integrationId,
      run_id: page.runId,
      body: envelope.prefix + chunk.map((a) => a.json).join(",") + envelope.suffix,
      alert_count: chunk.length,
      created_at: options.at,
    });
  }
  // One statement keeps the batches' order: seq values are drawn in the order of the rows.
  for (let i = 0; i < rows.length; i += 1000) {
    await tx`INSERT INTO batches ${tx(rows.slice(i, i + 1000))}`;
  }
}

/** Keeps a page's invalid records, and only the newest INVALID_KEPT of the integration. */
export async function keepInvalid(tx: Db, page: PageWrite, at: string): Promise<void> {
  const rows = page.invalid.map((r) => ({
    integration_id: page.integrationId,
    run_id: page.runId,
    record: JSON.stringify(r.record),
    issues: JSON.stringify(r.issues),
    created_at: at,
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await tx`INSERT INTO invalid_records ${tx(rows.slice(i, i + 1000))}`;
  }
  await tx`DELETE FROM invalid_records WHERE integration_id = ${page.integrationId} AND id <= (
    SELECT id FROM invalid_records WHERE integration_id = ${page.integrationId}
    ORDER BY id DESC LIMIT 1 OFFSET ${INVALID_KEPT})`;
}

/** Moves the page's streams on: alerts, newest alert, listed time (not for a backfill), hours. */
export async function updateStreams(
  tx: Db,
  page: PageWrite,
  options: { fresh: AlertWrite[]; nowMs: number },
): Promise<void> {
  const streams = new Map<
    string,
    { newestAt: string | null; listedAt: string | null; n: number }
  >();
  const streamOf = (name: string) => {
    let s = streams.get(name);
    if (!s) streams.set(name, s = { newestAt: null, listedAt: null, n: 0 });
    return s;
  };
  for (const alert of options.fresh) {
    const s = streamOf(alert.stream);
    s.n++;
    if (alert.occurredAt && (s.newestAt === null || alert.occurredAt > s.newestAt)) {
      s.newestAt = alert.occurredAt;
    }
  }
  // A backfill's listing is of the past: the live lag stays what the live runs made it.
  if (!page.backfill) {
    for (const { stream, at } of page.listed) streamOf(stream).listedAt = at;
  }
  // By name, so that pages stored at once lock their streams' rows in the same order.
  const ordered = [...streams].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (const [name, s] of ordered) {
    // GREATEST ignores NULL, as SQLite's COALESCE(MAX(a, b), a, b) does.
    await tx`INSERT INTO streams (integration_id, log_type, newest_at, listed_at, alerts)
      VALUES (${page.integrationId}, ${name}, ${s.newestAt}, ${s.listedAt}, ${s.n})
      ON CONFLICT (integration_id, log_type) DO UPDATE SET
        newest_at = GREATEST(streams.newest_at, excluded.newest_at),
        listed_at = GREATEST(streams.listed_at, excluded.listed_at),
        alerts = streams.alerts + excluded.alerts`;
    if (s.n > 0) {
      await addHourAlerts(tx, {
        integrationId: page.integrationId,
        logType: name,
        n: s.n,
        nowMs: options.nowMs,
      });
    }
  }
}

/** Adds the spans a page could not read to its run, and (live runs only) to the streams. */
export async function noteSkipped(
  tx: Db,
  page: PageWrite,
  spans: SkippedSpan[],
): Promise<void> {
  const [run] = await tx`SELECT skipped FROM runs WHERE id = ${page.runId} FOR UPDATE`;
  const all = [...(run?.skipped ? JSON.parse(String(run.skipped)) : []), ...spans];
  await tx`UPDATE runs SET skipped = ${JSON.stringify(all)} WHERE id = ${page.runId}`;
  // What a backfill could not read is its own run's concern, not the live stream's.
  if (page.backfill) return;
  for (const span of spans) {
    await tx`INSERT INTO streams (integration_id, log_type, skipped)
      VALUES (${page.integrationId}, ${span.stream}, ${JSON.stringify(span)})
      ON CONFLICT (integration_id, log_type) DO UPDATE SET skipped = excluded.skipped`;
  }
}

/** Moves the run's per-stream progress forward (never back). */
export async function noteProgress(
  tx: Db,
  runId: string,
  listed: PageWrite["listed"],
): Promise<void> {
  const [row] = await tx`SELECT progress FROM runs WHERE id = ${runId} FOR UPDATE`;
  const all: Record<string, string> = row?.progress ? JSON.parse(String(row.progress)) : {};
  for (const { stream, at } of listed) {
    if (!(all[stream] >= at)) all[stream] = at;
  }
  await tx`UPDATE runs SET progress = ${JSON.stringify(all)} WHERE id = ${runId}`;
}

/** Adds the plugin's named counts to the run's notes. */
export async function addNotes(
  tx: Db,
  runId: string,
  notes: Record<string, number>,
): Promise<void> {
  const [row] = await tx`SELECT notes FROM runs WHERE id = ${runId} FOR UPDATE`;
  const all: Record<string, number> = row?.notes ? JSON.parse(String(row.notes)) : {};
  for (const [name, n] of Object.entries(notes)) all[name] = (all[name] ?? 0) + n;
  await tx`UPDATE runs SET notes = ${JSON.stringify(all)} WHERE id = ${runId}`;
}

/** Adds counts to a run. */
export async function addCounts(
  sql: Db,
  runId: string,
  counts: Partial<RunCounts>,
): Promise<void> {
  await sql`UPDATE runs SET fetched = fetched + ${counts.fetched ?? 0},
      filtered = filtered + ${counts.filtered ?? 0}, invalid = invalid + ${counts.invalid ?? 0},
      alerts = alerts + ${counts.alerts ?? 0}, delivered = delivered + ${counts.delivered ?? 0},
      drift = drift + ${counts.drift ?? 0}, dead_lettered = dead_lettered + ${
    counts.deadLettered ?? 0
  },
      duplicates = duplicates + ${counts.duplicates ?? 0}
    WHERE id = ${runId}`;
}
