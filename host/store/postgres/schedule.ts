/**
 * What the scheduler reads each tick, in one query: every integration's schedule and its newest
 * run, found through the runs index (integration_id, started_at, seq), not the overview's rows.
 * @module
 */
import { type ScheduleRow, scheduleRowFrom } from "../rows.ts";
import type { Db } from "./rows.ts";

/** The row type, for the store that returns it. */
export type { ScheduleRow };

/** Every integration's schedule and newest run, in `listIntegrations()`'s order. */
export async function scheduleRows(sql: Db): Promise<ScheduleRow[]> {
  const rows = await sql`SELECT i.id, i.plugin_id, i.enabled, i.interval_seconds, i.last_run_at,
      r.id AS run_id, r.status AS run_status, r.error_code AS run_error_code
    FROM integrations i LEFT JOIN LATERAL (SELECT id, status, error_code FROM runs
      WHERE runs.integration_id = i.id ORDER BY started_at DESC, seq DESC LIMIT 1) r ON true
    ORDER BY i.created_at, i.id`;
  return rows.map(scheduleRowFrom);
}
