/**
 * What the scheduler reads each tick, in one query: every integration's schedule and its newest
 * run, found through the runs index (integration_id, started_at), not the overview's full rows.
 * @module
 */
import type { StatementSync } from "node:sqlite";
import { type Row, type ScheduleRow, scheduleRowFrom } from "../rows.ts";

/** The row type, for the store that returns it. */
export type { ScheduleRow };

/** Every integration's schedule and newest run, in `listIntegrations()`'s order. */
export function scheduleRows(prepare: (sql: string) => StatementSync): ScheduleRow[] {
  const rows = prepare(
    `SELECT i.id, i.plugin_id, i.enabled, i.interval_seconds, i.last_run_at,
       r.id AS run_id, r.status AS run_status, r.error_code AS run_error_code
     FROM integrations i LEFT JOIN runs r ON r.rowid = (SELECT rowid FROM runs x
       WHERE x.integration_id = i.id ORDER BY started_at DESC, rowid DESC LIMIT 1)
     ORDER BY i.created_at, i.id`,
  ).all() as Row[];
  return rows.map(scheduleRowFrom);
}
