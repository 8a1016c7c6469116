/**
 * Runs left behind by a host that stopped, and what operators read about an integration's runs:
 * the invalid records kept, the streams' progress, and every integration's overview at once.
 * @module
 */
import type postgres from "postgres";
import type { IntegrationOverview, InvalidRow, StreamRow } from "../contract.ts";
import { type Db, runFrom } from "./rows.ts";

/** Why a run left `running` without finishing: the same words as the SQLite store. */
const INTERRUPTED = "Run interrupted: the host stopped before it finished";
const RESUME_HINT = "The next run resumes from the last stored page.";
const BACKFILL_HINT =
  "A backfill is not resumed: what it stored stays stored and is delivered; start it again over the span its progress had not reached.";

/**
 * Marks runs left `running` as failed (interrupted); with `expiredOnly`, only those whose
 * integration has no live lease (a run under a live lease is another host's); with
 * `integrationId`, only that integration's (its new lease holder's call: any run still
 * `running` there belonged to a holder that lost the lease).
 */
export async function failInterrupted(
  sql: Db,
  options: { expiredOnly?: boolean; integrationId?: string; at: string },
): Promise<number> {
  const expired = options.expiredOnly
    ? sql`AND NOT EXISTS (SELECT 1 FROM leases
        WHERE leases.integration_id = runs.integration_id AND leases.expires_at > now())`
    : sql``;
  const one = options.integrationId ? sql`AND integration_id = ${options.integrationId}` : sql``;
  const result = await sql`UPDATE runs SET status = 'failed', finished_at = ${options.at},
      error = ${INTERRUPTED}, error_code = 'INTERRUPTED',
      hint = CASE WHEN backfill IS NULL THEN ${RESUME_HINT} ELSE ${BACKFILL_HINT} END
    WHERE status = 'running' ${expired} ${one}`;
  return result.count;
}

/** An integration's invalid records, newest first. */
export async function listInvalid(
  sql: Db,
  options: { integrationId: string; limit: number },
): Promise<InvalidRow[]> {
  const { integrationId, limit } = options;
  const rows = await sql`SELECT * FROM invalid_records
    WHERE integration_id = ${integrationId} ORDER BY id DESC LIMIT ${limit}`;
  return rows.map((r) => ({
    runId: String(r.run_id),
    record: JSON.parse(String(r.record)),
    issues: JSON.parse(String(r.issues)),
    createdAt: String(r.created_at),
  }));
}

/** An integration's streams, by name. */
export async function listStreams(sql: Db, integrationId: string): Promise<StreamRow[]> {
  const rows = await sql`SELECT * FROM streams WHERE integration_id = ${integrationId}
    ORDER BY log_type`;
  return rows.map(streamFrom);
}

/** A stream row. */
function streamFrom(r: postgres.Row): StreamRow {
  return {
    logType: String(r.log_type),
    newestAt: r.newest_at === null ? null : String(r.newest_at),
    listedAt: r.listed_at === null ? null : String(r.listed_at),
    alerts: Number(r.alerts),
    skipped: r.skipped ? JSON.parse(String(r.skipped)) : null,
  };
}

/** Every integration's overview: its newest runs (through the runs index), streams, outbox. */
export async function overview(sql: Db): Promise<Map<string, IntegrationOverview>> {
  const all = new Map<string, IntegrationOverview>();
  for (const r of await sql`SELECT id FROM integrations`) {
    all.set(String(r.id), { lastRun: null, lastFinished: null, streams: [], pending: 0, dead: 0 });
  }
  const [last, finished, streams, outbox] = await Promise.all([
    sql`SELECT r.* FROM integrations i CROSS JOIN LATERAL (SELECT * FROM runs
        WHERE runs.integration_id = i.id ORDER BY started_at DESC, seq DESC LIMIT 1) r`,
    sql`SELECT r.* FROM integrations i CROSS JOIN LATERAL (SELECT * FROM runs
        WHERE runs.integration_id = i.id AND status <> 'running' AND backfill IS NULL
        ORDER BY started_at DESC, seq DESC LIMIT 1) r`,
    sql`SELECT * FROM streams ORDER BY integration_id, log_type`,
    sql`SELECT integration_id, status, count(*) AS n FROM batches GROUP BY integration_id, status`,
  ]);
  for (const r of last) all.get(String(r.integration_id))!.lastRun = runFrom(r);
  for (const r of finished) all.get(String(r.integration_id))!.lastFinished = runFrom(r);
  for (const r of streams) all.get(String(r.integration_id))?.streams.push(streamFrom(r));
  for (const r of outbox) {
    const one = all.get(String(r.integration_id));
    if (!one) continue;
    if (r.status === "pending") one.pending = Number(r.n);
    else one.dead = Number(r.n);
  }
  return all;
}
