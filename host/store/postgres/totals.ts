/**
 * Totals across every integration for `/metrics`, each from one set-based query, so that a
 * scrape costs three statements however many integrations and runs there are.
 * @module
 */
import type { StoreTotals } from "../contract.ts";
import type { Db } from "./rows.ts";

/** Runs by status, the records all runs counted, and each integration's outbox. */
export async function storeTotals(sql: Db): Promise<StoreTotals> {
  const [byStatus, [sums], outbox] = await Promise.all([
    sql`SELECT status, count(*) AS n FROM runs GROUP BY status`,
    sql`SELECT COALESCE(SUM(fetched), 0) AS fetched,
        COALESCE(SUM(filtered), 0) AS filtered, COALESCE(SUM(invalid), 0) AS invalid,
        COALESCE(SUM(drift), 0) AS drift, COALESCE(SUM(duplicates), 0) AS duplicates,
        COALESCE(SUM(alerts), 0) AS alerts, COALESCE(SUM(delivered), 0) AS delivered
      FROM runs`,
    sql`SELECT integration_id,
        count(*) FILTER (WHERE status = 'pending') AS pending,
        count(*) FILTER (WHERE status = 'dead') AS dead
      FROM batches GROUP BY integration_id`,
  ]);
  return {
    runsByStatus: Object.fromEntries(byStatus.map((r) => [String(r.status), Number(r.n)])),
    records: {
      fetched: Number(sums.fetched),
      filtered: Number(sums.filtered),
      invalid: Number(sums.invalid),
      drift: Number(sums.drift),
      duplicates: Number(sums.duplicates),
      alerts: Number(sums.alerts),
      delivered: Number(sums.delivered),
    },
    outbox: Object.fromEntries(
      outbox.map((r) => [
        String(r.integration_id),
        { pending: Number(r.pending), dead: Number(r.dead) },
      ]),
    ),
  };
}
