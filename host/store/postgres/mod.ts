/**
 * The host's storage in PostgreSQL (SPEC §5.7): the storage contract (`../contract.ts`) kept in
 * one database that any number of hosts share. The same tables and units of work as the SQLite
 * store, each unit in one transaction; leases with fencing tokens on the database's clock decide
 * which host runs an integration, and a fenced write checks its lease inside its own transaction.
 * Reached with postgres.js (a pool that reconnects by itself).
 * @module
 */
import postgres from "postgres";
import { HostError } from "../../errors.ts";
import type {
  HostStore,
  IntegrationFields,
  IntegrationOutcome,
  IntegrationOverview,
  InvalidRow,
  Lease,
  NewIntegration,
  RunOutcome,
  StoreTotals,
  StreamRow,
} from "../contract.ts";
import type {
  BackfillSpan,
  BatchRow,
  IntegrationRow,
  PageWrite,
  RunCounts,
  RunPosition,
  RunRow,
} from "../rows.ts";
import { alreadyStored } from "../rows.ts";
import { keepAlerts, PostgresAlerts } from "./alerts.ts";
import { PostgresHours } from "./hours.ts";
import { PostgresSessions } from "./sessions.ts";
import { migrate } from "./schema.ts";
import { batchFrom, integrationFrom, runFrom } from "./rows.ts";
import * as pages from "./pages.ts";
import * as leases from "./leases.ts";
import { connectionOptions, describe } from "./connect.ts";
import { storeTotals } from "./totals.ts";
import * as runs from "./runs.ts";
import { type ScheduleRow, scheduleRows } from "./schedule.ts";

/** The host's PostgreSQL database. */
export class PostgresStore implements HostStore {
  readonly alerts: PostgresAlerts;
  readonly hours: PostgresHours;
  readonly sessions: PostgresSessions;
  /** The schema version in force. */
  readonly schemaVersion: number;
  #sql: postgres.Sql;
  #now: () => number;
  #where: string;

  private constructor(
    sql: postgres.Sql,
    options: { now: () => number; where: string; schemaVersion: number },
  ) {
    this.#sql = sql;
    this.#now = options.now;
    this.#where = options.where;
    this.schemaVersion = options.schemaVersion;
    this.alerts = new PostgresAlerts(sql);
    this.hours = new PostgresHours(sql);
    this.sessions = new PostgresSessions(sql);
  }

  /**
   * Connects to `url` (`postgres://user:password@host:5432/database`) and applies the migrations
   * not yet applied (once, when several hosts start together); `now` stamps rows, so tests can
   * fake time (leases keep the database's clock).
   */
  static async open(url: string, options: { now?: () => number } = {}): Promise<PostgresStore> {
    const where = describe(url);
    let sql: postgres.Sql | undefined;
    try {
      sql = postgres(connectionOptions(url));
      const schemaVersion = await migrate(sql);
      return new PostgresStore(sql, { now: options.now ?? Date.now, where, schemaVersion });
    } catch (error) {
      await sql?.end({ timeout: 1 });
      throw new HostError(
        "STORAGE_FAILED",
        `Cannot open the database ${where}: ${(error as Error).message}`,
        {
          hint:
            "Check HOST_DATABASE_URL (host, port, user, password, database name), that the server accepts connections from this machine, and that the user may create tables in the database.",
          cause: error,
        },
      );
    }
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  async problem(): Promise<string | undefined> {
    // The query's failure is read into its answer: a late rejection must not go unhandled.
    const answer = this.#sql`SELECT 1`.then(() => undefined, (e) => (e as Error).message);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("no answer within 5 seconds"), 5000);
    });
    const why = await Promise.race([answer, late]).finally(() => clearTimeout(timer));
    return why === undefined ? undefined : `Cannot reach the database ${this.#where}: ${why}`;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  // ── integrations ──────────────────────────────────────────────────────────

  async insertIntegration(row: NewIntegration): Promise<void> {
    await this.#sql`INSERT INTO integrations (id, plugin_id, name, config, secrets,
        destination_url, destination_format, interval_seconds, enabled, awaiting_check,
        created_at, updated_at)
      VALUES (${row.id}, ${row.pluginId}, ${row.name}, ${JSON.stringify(row.config)},
        ${row.secrets}, ${row.destinationUrl}, ${row.destinationFormat}, ${row.intervalSeconds},
        ${row.enabled}, ${row.awaitingCheck}, ${row.createdAt}, ${row.updatedAt})`;
  }

  async updateIntegration(id: string, fields: IntegrationFields): Promise<void> {
    await this.#sql.begin(async (tx) => {
      const [row] = await tx`SELECT * FROM integrations WHERE id = ${id} FOR UPDATE`;
      if (!row) return;
      const defined = Object.fromEntries(
        Object.entries(fields).filter(([, value]) => value !== undefined),
      );
      const next = { ...integrationFrom(row), ...defined };
      await tx`UPDATE integrations SET name = ${next.name},
          config = ${JSON.stringify(next.config)}, secrets = ${next.secrets},
          destination_url = ${next.destinationUrl}, destination_format = ${next.destinationFormat},
          interval_seconds = ${next.intervalSeconds}, enabled = ${next.enabled},
          awaiting_check = ${next.awaitingCheck}, updated_at = ${this.#iso()}
        WHERE id = ${id}`;
    });
  }

  async enableAfterCheck(id: string): Promise<boolean> {
    const result = await this.#sql`UPDATE integrations
      SET enabled = TRUE, awaiting_check = FALSE, updated_at = ${this.#iso()}
      WHERE id = ${id} AND awaiting_check`;
    return result.count > 0;
  }

  async replaceSecrets(sealed: { id: string; secrets: string }[]): Promise<void> {
    await this.#sql.begin(async (tx) => {
      for (const { id, secrets } of sealed) {
        await tx`UPDATE integrations SET secrets = ${secrets} WHERE id = ${id}`;
      }
    });
  }

  async deleteIntegration(id: string): Promise<boolean> {
    return (await this.#sql`DELETE FROM integrations WHERE id = ${id}`).count > 0;
  }

  async getIntegration(id: string): Promise<IntegrationRow | undefined> {
    const [row] = await this.#sql`SELECT * FROM integrations WHERE id = ${id}`;
    return row ? integrationFrom(row) : undefined;
  }

  async listIntegrations(): Promise<IntegrationRow[]> {
    return (await this.#sql`SELECT * FROM integrations ORDER BY created_at, id`)
      .map(integrationFrom);
  }

  scheduleRows(): Promise<ScheduleRow[]> {
    return scheduleRows(this.#sql);
  }

  async setOutcome(id: string, outcome: IntegrationOutcome, fence?: Lease): Promise<void> {
    if (fence) leases.checkSubject(fence, { integrationId: id });
    await this.#sql.begin(async (tx) => {
      if (fence) await leases.checkFence(tx, fence);
      await tx`UPDATE integrations SET last_error = ${outcome.error},
          last_hint = ${outcome.hint}, last_run_at = ${outcome.at},
          last_success_at = CASE WHEN ${outcome.success}::boolean THEN ${outcome.at}
            ELSE last_success_at END
        WHERE id = ${id}`;
    });
  }

  // ── checkpoints and pages ─────────────────────────────────────────────────

  async getCheckpoint(integrationId: string): Promise<unknown> {
    const [row] = await this.#sql`SELECT checkpoint FROM checkpoints
      WHERE integration_id = ${integrationId}`;
    return row ? JSON.parse(String(row.checkpoint)) : null;
  }

  async storePage(page: PageWrite, fence?: Lease): Promise<{ stored: number; duplicates: number }> {
    if (fence) leases.checkSubject(fence, page);
    const at = this.#iso();
    const nowMs = this.#now();
    return await this.#sql.begin(async (tx) => {
      if (fence) await leases.checkFence(tx, fence);
      const fresh = await pages.keepNewAlerts(tx, page.integrationId, {
        alerts: page.alerts,
        nowMs,
      });
      if (page.keepAlerts !== false) await keepAlerts(tx, { ...page, alerts: fresh, nowMs });
      await pages.batch(tx, page, { alerts: fresh, envelope: page.envelope, at });
      const replay = page.backfill?.replay;
      if (replay) {
        const again = alreadyStored(page.alerts, fresh);
        await pages.batch(tx, page, { alerts: again, envelope: replay, at });
      }
      if (!page.backfill) {
        await tx`INSERT INTO checkpoints (integration_id, checkpoint, updated_at)
          VALUES (${page.integrationId}, ${JSON.stringify(page.checkpoint)}, ${at})
          ON CONFLICT (integration_id) DO UPDATE
          SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`;
      }
      if (page.invalid.length > 0) await pages.keepInvalid(tx, page, at);
      await pages.updateStreams(tx, page, { fresh, nowMs });
      if (page.skipped.length > 0) await pages.noteSkipped(tx, page, page.skipped);
      if (page.listed.length > 0) await pages.noteProgress(tx, page.runId, page.listed);
      if (Object.keys(page.notes).length > 0) await pages.addNotes(tx, page.runId, page.notes);
      const duplicates = page.alerts.length - fresh.length;
      await pages.addCounts(tx, page.runId, { ...page.counts, alerts: fresh.length, duplicates });
      return { stored: fresh.length, duplicates };
    });
  }

  async pruneAlertIds(integrationId: string, beforeMs: number): Promise<number> {
    const result = await this.#sql`DELETE FROM alert_ids
      WHERE integration_id = ${integrationId} AND occurred_at < ${Math.floor(beforeMs / 1000)}`;
    return result.count;
  }

  // ── outbox ────────────────────────────────────────────────────────────────

  async nextPending(integrationId: string, afterSeq = 0): Promise<BatchRow | undefined> {
    const [row] = await this.#sql`SELECT * FROM batches WHERE integration_id = ${integrationId}
      AND status = 'pending' AND seq > ${afterSeq} ORDER BY seq LIMIT 1`;
    return row ? batchFrom(row) : undefined;
  }

  async integrationsWithPending(): Promise<string[]> {
    const rows = await this.#sql`SELECT DISTINCT integration_id FROM batches
      WHERE status = 'pending' ORDER BY integration_id`;
    return rows.map((r) => String(r.integration_id));
  }

  async pendingCount(integrationId: string): Promise<number> {
    const [row] = await this.#sql`SELECT count(*) AS n FROM batches
      WHERE integration_id = ${integrationId} AND status = 'pending'`;
    return Number(row.n);
  }

  async markDelivered(batch: BatchRow): Promise<void> {
    // One statement, so one transaction: the batch leaves the outbox and its run is credited
    // (what SQLite's batches_delivered trigger does).
    await this.#sql`WITH gone AS (
        DELETE FROM batches WHERE seq = ${batch.seq} AND status = 'pending'
        RETURNING run_id, alert_count)
      UPDATE runs SET delivered = runs.delivered + gone.alert_count
      FROM gone WHERE runs.id = gone.run_id`;
  }

  async noteAttempt(seq: number, error: string): Promise<void> {
    await this.#sql`UPDATE batches SET attempts = attempts + 1, last_error = ${error}
      WHERE seq = ${seq}`;
  }

  async markDead(batch: BatchRow, error: string): Promise<void> {
    // Counted once: a batch two hosts give up on (or one host twice) is one dead letter.
    await this.#sql`WITH dead AS (
        UPDATE batches SET status = 'dead', last_error = ${error}, dead_at = ${this.#iso()}
        WHERE seq = ${batch.seq} AND status = 'pending' RETURNING run_id)
      UPDATE runs SET dead_lettered = runs.dead_lettered + 1
      FROM dead WHERE runs.id = dead.run_id`;
  }

  async listDeadLetters(integrationId: string, limit = 100): Promise<BatchRow[]> {
    return (await this.#sql`SELECT * FROM batches WHERE integration_id = ${integrationId}
      AND status = 'dead' ORDER BY seq LIMIT ${limit}`).map(batchFrom);
  }

  async deadLetterCount(integrationId?: string): Promise<number> {
    const [row] = integrationId === undefined
      ? await this.#sql`SELECT count(*) AS n FROM batches WHERE status = 'dead'`
      : await this.#sql`SELECT count(*) AS n FROM batches
        WHERE status = 'dead' AND integration_id = ${integrationId}`;
    return Number(row.n);
  }

  async discardDeadLetter(integrationId: string, webhookId: string): Promise<boolean> {
    const result = await this.#sql`DELETE FROM batches WHERE integration_id = ${integrationId}
      AND status = 'dead' AND webhook_id = ${webhookId}`;
    return result.count > 0;
  }

  async redrive(integrationId: string, webhookIds?: string[]): Promise<number> {
    const only = webhookIds && webhookIds.length > 0
      ? this.#sql`AND webhook_id = ANY(${webhookIds}::text[])`
      : this.#sql``;
    const result = await this.#sql`UPDATE batches
      SET status = 'pending', attempts = 0, dead_at = NULL
      WHERE integration_id = ${integrationId} AND status = 'dead' ${only}`;
    return result.count;
  }

  // ── runs ──────────────────────────────────────────────────────────────────

  async insertRun(run: {
    id: string;
    integrationId: string;
    trigger: string;
    startedAt: string;
    backfill?: BackfillSpan;
    hostId?: string;
  }): Promise<void> {
    const backfill = run.backfill ? JSON.stringify(run.backfill) : null;
    await this.#sql`INSERT INTO runs (id, integration_id, trigger, status, started_at, backfill,
        host_id)
      VALUES (${run.id}, ${run.integrationId}, ${run.trigger}, 'running', ${run.startedAt},
        ${backfill}, ${run.hostId ?? null})`;
  }

  async addRunCounts(runId: string, counts: Partial<RunCounts>): Promise<void> {
    await pages.addCounts(this.#sql, runId, counts);
  }

  async finishRun(runId: string, outcome: RunOutcome, fence?: Lease): Promise<void> {
    await this.#sql.begin(async (tx) => {
      if (fence) {
        await leases.checkFence(tx, fence);
        const [run] = await tx`SELECT integration_id FROM runs WHERE id = ${runId}`;
        if (run) leases.checkSubject(fence, { integrationId: String(run.integration_id) });
      }
      await tx`UPDATE runs SET status = ${outcome.status}, finished_at = ${this.#iso()},
          error = ${outcome.error ?? null}, error_code = ${outcome.errorCode ?? null},
          hint = ${outcome.hint ?? null}
        WHERE id = ${runId}`;
    });
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    const [row] = await this.#sql`SELECT * FROM runs WHERE id = ${id}`;
    return row ? runFrom(row) : undefined;
  }

  async listRuns(integrationId: string, limit = 20): Promise<RunRow[]> {
    return (await this.#sql`SELECT * FROM runs WHERE integration_id = ${integrationId}
      ORDER BY started_at DESC, seq DESC LIMIT ${limit}`).map(runFrom);
  }

  async listRunsBefore(
    integrationId: string,
    options: { before?: RunPosition; limit: number },
  ): Promise<{ run: RunRow; position: RunPosition }[]> {
    const { before } = options;
    const after = before
      ? this.#sql`AND (started_at, seq) < (${before.startedAt}::text, ${before.seq}::bigint)`
      : this.#sql``;
    const rows = await this.#sql`SELECT * FROM runs WHERE integration_id = ${integrationId}
      ${after} ORDER BY started_at DESC, seq DESC LIMIT ${options.limit}`;
    return rows.map((r) => ({
      run: runFrom(r),
      position: { startedAt: String(r.started_at), seq: Number(r.seq) },
    }));
  }

  failInterruptedRuns(
    options: { expiredOnly?: boolean; integrationId?: string } = {},
  ): Promise<number> {
    return runs.failInterrupted(this.#sql, { ...options, at: this.#iso() });
  }

  // ── operator views ────────────────────────────────────────────────────────

  listInvalid(integrationId: string, limit = 50): Promise<InvalidRow[]> {
    return runs.listInvalid(this.#sql, { integrationId, limit });
  }

  listStreams(integrationId: string): Promise<StreamRow[]> {
    return runs.listStreams(this.#sql, integrationId);
  }

  overview(): Promise<Map<string, IntegrationOverview>> {
    return runs.overview(this.#sql);
  }

  // ── leases (SPEC §5.7) ────────────────────────────────────────────────────

  acquireLease(
    integrationId: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<Lease | undefined> {
    return leases.acquireLease(this.#sql, { integrationId, owner, ttlSeconds });
  }

  renewLease(lease: Lease, ttlSeconds: number): Promise<boolean> {
    return leases.renewLease(this.#sql, lease, ttlSeconds);
  }

  releaseLease(lease: Lease): Promise<void> {
    return leases.releaseLease(this.#sql, lease);
  }

  currentLease(integrationId: string): Promise<Lease | undefined> {
    return leases.currentLease(this.#sql, integrationId);
  }

  // ── totals for /metrics ───────────────────────────────────────────────────

  totals(): Promise<StoreTotals> {
    return storeTotals(this.#sql);
  }
}
