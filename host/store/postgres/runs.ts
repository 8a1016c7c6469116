/**
 * Runs left behind by a host that stopped, and what operators read about an integration's runs:
 * the invalid records kept and the streams' progress.
 * @module
 */
import type { InvalidRow, StreamRow } from "../contract.ts";
import type { Db } from "./rows.ts";

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
  return rows.map((r) => ({
    logType: String(r.log_type),
    newestAt: r.newest_at === null ? null : String(r.newest_at),
    listedAt: r.listed_at === null ? null : String(r.listed_at),
    alerts: Number(r.alerts),
    skipped: r.skipped ? JSON.parse(String(r.skipped)) : null,
  }));
}
