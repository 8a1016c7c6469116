/**
 * The host's store in one embedded SQLite database (`node:sqlite`, WAL): the zero-setup default,
 * for one host. Integrations with their sealed secrets, checkpoints, the outbox of webhook batches
 * (pending, and dead letters), runs, the invalid records and stored alerts kept for operators,
 * console sessions and leases. Schema changes are numbered migrations applied at open.
 *
 * node:sqlite answers synchronously: the contract's methods are async around synchronous
 * statements (async rather than Promise.resolve, so a failing statement rejects as a server
 * database's would), and a unit of work such as a page is one synchronous IMMEDIATE transaction.
 * @module
 */
// deno-lint-ignore-file require-await
import { chmodSync, closeSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { HostError } from "../../errors.ts";
import type { SkippedSpan } from "../../types.ts";
import {
  type HostStore,
  type IntegrationFields,
  type IntegrationOutcome,
  type IntegrationOverview,
  type InvalidRow,
  type Lease,
  LeaseLostError,
  type NewIntegration,
  type RunOutcome,
  type StoreTotals,
  type StreamRow,
} from "../contract.ts";
import {
  type AlertWrite,
  alreadyStored,
  type BackfillSpan,
  batchFrom,
  type BatchRow,
  integrationFrom,
  type IntegrationRow,
  INVALID_KEPT,
  type PageWrite,
  type Row,
  type RunCounts,
  runFrom,
  type RunPosition,
  type RunRow,
} from "../rows.ts";
import { MIGRATIONS } from "./schema.ts";
import { AlertStore } from "./alerts.ts";
import { StreamHours } from "./stream_hours.ts";
import { SessionStore } from "./sessions.ts";
import { type ScheduleRow, scheduleRows } from "./schedule.ts";

/** Alert ids inserted per statement (three parameters each). */
const ID_CHUNK = 200;

/** An ISO time in epoch seconds, or `fallback` when there is none. */
function secondsOf(iso: string | null, fallback: number): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? fallback : Math.floor(ms / 1000);
}

/** SQLite's result code for a full disk (or a database at its `max_page_count`). */
const SQLITE_FULL = 13;

/** A full disk as a HostError with the operator's next step; any other error as it is. */
function storageError(error: unknown, path: string): unknown {
  if ((error as { errcode?: unknown })?.errcode !== SQLITE_FULL) return error;
  return new HostError(
    "STORAGE_FAILED",
    `Cannot write to the database: ${(error as Error).message}`,
    {
      hint:
        `Free space on the disk that holds ${path} (and its -wal file). Nothing stored is lost: the next run resumes from the last stored page.`,
      cause: error,
    },
  );
}

/** A file system error in plain words. */
function why(error: unknown): string {
  const code = (error as { code?: string })?.code ?? "";
  const plain: Record<string, string> = {
    ENOENT: "it no longer exists",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
  };
  return plain[code] ?? (error as Error)?.message ?? String(error);
}

/** The host's store in SQLite. */
export class SqliteStore implements HostStore {
  readonly db: DatabaseSync;
  #path: string;
  /** The database file's inode at open: another one at that path means it was replaced. */
  #inode?: number;
  #now: () => number;
  #statements = new Map<string, StatementSync>();
  /** The alerts stored pages kept, for operators to search and export. */
  readonly alerts: AlertStore;
  /** Alerts stored and lag per log type and hour, for the console's charts. */
  readonly hours: StreamHours;
  /** The console's login sessions. */
  readonly sessions: SessionStore;

  /** Opens (and migrates) the database; `now` stamps rows, so tests can fake time. */
  constructor(path: string, now: () => number = Date.now) {
    this.#now = now;
    this.#path = path;
    this.db = new DatabaseSync(path);
    // Owner only (SPEC §5.4): set before WAL mode creates the -wal and -shm files, which SQLite
    // then gives the database file's own permissions.
    if (path !== ":memory:") {
      chmodSync(path, 0o600);
      this.#inode = statSync(path).ino;
    }
    this.db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    );
    this.#migrate();
    this.alerts = new AlertStore((sql) => this.#sql(sql));
    this.hours = new StreamHours((sql) => this.#sql(sql));
    this.sessions = new SessionStore((sql) => this.#sql(sql));
  }

  #migrate(): void {
    const version =
      (this.#sql("PRAGMA user_version").get() as { user_version: number }).user_version;
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[i]);
        this.db.exec(`PRAGMA user_version = ${i + 1}`);
      });
    }
  }

  /** The schema version in force. */
  get schemaVersion(): number {
    return (this.#sql("PRAGMA user_version").get() as { user_version: number }).user_version;
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction; rolls back if it throws, and throws what went wrong.
   * A full disk is a STORAGE_FAILED error with a hint to free space.
   */
  transaction<T>(fn: () => T): T {
    this.#sql("BEGIN IMMEDIATE").run();
    try {
      const result = fn();
      this.#sql("COMMIT").run();
      return result;
    } catch (error) {
      // SQLite rolls back by itself on some errors (a full disk among them); a ROLLBACK then fails
      // with "no transaction is active" and would hide the error that matters.
      if (this.db.isTransaction) this.#sql("ROLLBACK").run();
      throw storageError(error, this.#path);
    }
  }

  /** A prepared statement, prepared once per SQL text. */
  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /**
   * Why the database cannot be used now, or undefined when it can: its folder gone or not
   * writable, its file gone or replaced (an open database keeps writing to a deleted file, so
   * queries alone would say all is well), or a query failing. Cheap enough to poll every second.
   */
  async problem(): Promise<string | undefined> {
    if (this.#path !== ":memory:") {
      const folder = dirname(this.#path);
      const probe = `${this.#path}-health`;
      try {
        closeSync(openSync(probe, "w", 0o600));
        unlinkSync(probe);
      } catch (error) {
        return `Cannot write to the data folder ${folder}: ${why(error)}`;
      }
      let inode: number | undefined;
      try {
        inode = statSync(this.#path).ino;
      } catch (error) {
        return `Cannot find the database ${this.#path}: ${why(error)}`;
      }
      if (inode !== this.#inode) {
        return `The database ${this.#path} was replaced after the host opened it; restart the host`;
      }
    }
    try {
      this.#sql("SELECT COUNT(*) FROM sqlite_master").get();
    } catch (error) {
      return `Cannot read the database ${this.#path}: ${(error as Error).message}`;
    }
    return undefined;
  }

  // ── integrations ──────────────────────────────────────────────────────────

  async insertIntegration(row: NewIntegration): Promise<void> {
    this.#sql(
      `INSERT INTO integrations (id, plugin_id, name, config, secrets, destination_url, destination_format, interval_seconds, enabled, awaiting_check, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      row.id,
      row.pluginId,
      row.name,
      JSON.stringify(row.config),
      row.secrets,
      row.destinationUrl,
      row.destinationFormat,
      row.intervalSeconds,
      row.enabled ? 1 : 0,
      row.awaitingCheck ? 1 : 0,
      row.createdAt,
      row.updatedAt,
    );
  }

  async updateIntegration(id: string, fields: IntegrationFields): Promise<void> {
    const current = this.#getIntegration(id);
    if (!current) return;
    const defined = Object.fromEntries(
      Object.entries(fields).filter(([, value]) => value !== undefined),
    );
    const next = { ...current, ...defined };
    this.#sql(
      `UPDATE integrations SET name = ?, config = ?, secrets = ?, destination_url = ?, destination_format = ?, interval_seconds = ?, enabled = ?, awaiting_check = ?, updated_at = ?
       WHERE id = ?`,
    ).run(
      next.name,
      JSON.stringify(next.config),
      next.secrets,
      next.destinationUrl,
      next.destinationFormat,
      next.intervalSeconds,
      next.enabled ? 1 : 0,
      next.awaitingCheck ? 1 : 0,
      this.#iso(),
      id,
    );
  }

  /**
   * Turns on the schedule of an integration still waiting for its first passing connection check;
   * true when it did (once: the flag goes with it, in the same statement).
   */
  async enableAfterCheck(id: string): Promise<boolean> {
    return Number(
      this.#sql(
        "UPDATE integrations SET enabled = 1, awaiting_check = 0, updated_at = ? WHERE id = ? AND awaiting_check = 1",
      ).run(this.#iso(), id).changes,
    ) > 0;
  }

  /** Replaces integrations' sealed secrets, all in one transaction (a key rotation). */
  async replaceSecrets(sealed: { id: string; secrets: string }[]): Promise<void> {
    const update = this.#sql("UPDATE integrations SET secrets = ? WHERE id = ?");
    this.transaction(() => {
      for (const { id, secrets } of sealed) update.run(secrets, id);
    });
  }

  async deleteIntegration(id: string): Promise<boolean> {
    return Number(this.#sql("DELETE FROM integrations WHERE id = ?").run(id).changes) > 0;
  }

  async getIntegration(id: string): Promise<IntegrationRow | undefined> {
    return this.#getIntegration(id);
  }

  #getIntegration(id: string): IntegrationRow | undefined {
    const row = this.#sql("SELECT * FROM integrations WHERE id = ?").get(id) as
      | Row
      | undefined;
    return row ? integrationFrom(row) : undefined;
  }

  async listIntegrations(): Promise<IntegrationRow[]> {
    return (this.#sql("SELECT * FROM integrations ORDER BY created_at, id").all() as Row[])
      .map(integrationFrom);
  }

  async scheduleRows(): Promise<ScheduleRow[]> {
    return scheduleRows((sql) => this.#sql(sql));
  }

  async setOutcome(id: string, outcome: IntegrationOutcome, fence?: Lease): Promise<void> {
    this.transaction(() => {
      if (fence) this.#checkFence(fence);
      this.#sql(
        `UPDATE integrations SET last_error = ?, last_hint = ?, last_run_at = ?,
           last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END WHERE id = ?`,
      ).run(outcome.error, outcome.hint, outcome.at, outcome.success ? 1 : 0, outcome.at, id);
    });
  }

  // ── checkpoints and pages ─────────────────────────────────────────────────

  async getCheckpoint(integrationId: string): Promise<unknown> {
    const row = this.#sql("SELECT checkpoint FROM checkpoints WHERE integration_id = ?").get(
      integrationId,
    ) as
      | { checkpoint: string }
      | undefined;
    return row ? JSON.parse(row.checkpoint) : null;
  }

  /**
   * Stores a page atomically: its new alerts as outbox batches and in the alerts store (alerts
   * already stored for the integration are dropped and counted as duplicates), its checkpoint,
   * invalid records, stream progress, skipped spans and counts. Returns how many alerts were new
   * and how many were not. With `fence`, the lease is checked in the same transaction.
   */
  async storePage(
    page: PageWrite,
    fence?: Lease,
  ): Promise<{ stored: number; duplicates: number }> {
    const at = this.#iso();
    return this.transaction(() => {
      if (fence) this.#checkFence(fence);
      const fresh = this.#keepNewAlerts(page.integrationId, page.alerts);
      if (page.keepAlerts !== false) this.alerts.keep(page, fresh, this.#now());
      this.#batch(page, fresh, page.envelope, at);
      const replay = page.backfill?.replay;
      if (replay) this.#batch(page, alreadyStored(page.alerts, fresh), replay, at);
      if (!page.backfill) {
        this.#sql(
          `INSERT INTO checkpoints (integration_id, checkpoint, updated_at) VALUES (?, ?, ?)
           ON CONFLICT(integration_id) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
        ).run(page.integrationId, JSON.stringify(page.checkpoint), at);
      }
      if (page.invalid.length > 0) this.#keepInvalid(page, at);
      this.#updateStreams(page, fresh);
      if (page.skipped.length > 0) this.#noteSkipped(page, page.skipped);
      if (page.listed.length > 0) this.#noteProgress(page.runId, page.listed);
      if (Object.keys(page.notes).length > 0) this.#addNotes(page.runId, page.notes);
      const duplicates = page.alerts.length - fresh.length;
      this.#addRunCounts(page.runId, { ...page.counts, alerts: fresh.length, duplicates });
      return { stored: fresh.length, duplicates };
    });
  }

  /** Puts alerts in the outbox, `batchSize` to a webhook request, each under a new webhook id. */
  #batch(
    page: PageWrite,
    alerts: AlertWrite[],
    envelope: { prefix: string; suffix: string },
    at: string,
  ): void {
    const insert = this.#sql(
      `INSERT INTO batches (webhook_id, integration_id, run_id, body, alert_count, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (let i = 0; i < alerts.length; i += page.batchSize) {
      const chunk = alerts.slice(i, i + page.batchSize);
      const body = envelope.prefix + chunk.map((a) => a.json).join(",") + envelope.suffix;
      const webhookId = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
      insert.run(webhookId, page.integrationId, page.runId, body, chunk.length, at);
    }
  }

  /**
   * Records the alerts' ids; returns the alerts whose id was not stored yet, first of each. An
   * alert is known by its id and its time (the same record always gives both); one without a
   * time is filed under the moment it is stored.
   */
  #keepNewAlerts(integrationId: string, alerts: AlertWrite[]): AlertWrite[] {
    if (alerts.length === 0) return alerts;
    const now = Math.floor(this.#now() / 1000);
    const inserted = new Set<string>();
    for (let i = 0; i < alerts.length; i += ID_CHUNK) {
      const chunk = alerts.slice(i, i + ID_CHUNK);
      const rows = this.#sql(
        `INSERT INTO alert_ids (integration_id, occurred_at, alert_id) VALUES ${
          "(?, ?, ?),".repeat(chunk.length).slice(0, -1)
        } ON CONFLICT DO NOTHING RETURNING alert_id`,
      ).all(...chunk.flatMap((a) => [integrationId, secondsOf(a.occurredAt, now), a.id])) as {
        alert_id: string;
      }[];
      for (const row of rows) inserted.add(row.alert_id);
    }
    if (inserted.size === alerts.length) return alerts;
    return alerts.filter((a) => inserted.delete(a.id));
  }

  #keepInvalid(page: PageWrite, at: string): void {
    const keep = this.#sql(
      "INSERT INTO invalid_records (integration_id, run_id, record, issues, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    for (const r of page.invalid) {
      keep.run(
        page.integrationId,
        page.runId,
        JSON.stringify(r.record),
        JSON.stringify(r.issues),
        at,
      );
    }
    this.#sql(
      `DELETE FROM invalid_records WHERE integration_id = ? AND id <= (
         SELECT id FROM invalid_records WHERE integration_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ).run(page.integrationId, page.integrationId, INVALID_KEPT);
  }

  #updateStreams(page: PageWrite, fresh: AlertWrite[]): void {
    const streams = new Map<
      string,
      { newestAt: string | null; listedAt: string | null; n: number }
    >();
    const streamOf = (name: string) => {
      let s = streams.get(name);
      if (!s) streams.set(name, s = { newestAt: null, listedAt: null, n: 0 });
      return s;
    };
    for (const alert of fresh) {
      const s = streamOf(alert.stream);
      s.n++;
      if (alert.occurredAt && (s.newestAt === null || alert.occurredAt > s.newestAt)) {
        s.newestAt = alert.occurredAt;
      }
    }
    // A backfill's listing is of the past: the live lag stays what the live runs made it.
    if (!page.backfill) {
      for (const { stream, at } of page.listed) {
        streamOf(stream).listedAt = at;
      }
    }
    const upsert = this.#sql(
      `INSERT INTO streams (integration_id, log_type, newest_at, listed_at, alerts) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(integration_id, log_type) DO UPDATE SET
         newest_at = COALESCE(MAX(newest_at, excluded.newest_at), newest_at, excluded.newest_at),
         listed_at = COALESCE(MAX(listed_at, excluded.listed_at), listed_at, excluded.listed_at),
         alerts = alerts + excluded.alerts`,
    );
    for (const [name, s] of streams) {
      upsert.run(page.integrationId, name, s.newestAt, s.listedAt, s.n);
      if (s.n > 0) this.hours.addAlerts(page.integrationId, name, s.n, this.#now());
    }
  }

  #noteSkipped(page: PageWrite, spans: SkippedSpan[]): void {
    const { integrationId, runId } = page;
    const run = this.#sql("SELECT skipped FROM runs WHERE id = ?").get(runId) as Row | undefined;
    const all = [...(run?.skipped ? JSON.parse(String(run.skipped)) : []), ...spans];
    this.#sql("UPDATE runs SET skipped = ? WHERE id = ?").run(JSON.stringify(all), runId);
    // What a backfill could not read is its own run's concern, not the live stream's.
    if (page.backfill) return;
    const mark = this.#sql(
      `INSERT INTO streams (integration_id, log_type, skipped) VALUES (?, ?, ?)
       ON CONFLICT(integration_id, log_type) DO UPDATE SET skipped = excluded.skipped`,
    );
    for (const span of spans) mark.run(integrationId, span.stream, JSON.stringify(span));
  }

  #noteProgress(runId: string, listed: PageWrite["listed"]): void {
    const row = this.#sql("SELECT progress FROM runs WHERE id = ?").get(runId) as Row | undefined;
    const all: Record<string, string> = row?.progress ? JSON.parse(String(row.progress)) : {};
    for (const { stream, at } of listed) {
      if (!(all[stream] >= at)) all[stream] = at;
    }
    this.#sql("UPDATE runs SET progress = ? WHERE id = ?").run(JSON.stringify(all), runId);
  }

  #addNotes(runId: string, notes: Record<string, number>): void {
    const row = this.#sql("SELECT notes FROM runs WHERE id = ?").get(runId) as Row | undefined;
    const all: Record<string, number> = row?.notes ? JSON.parse(String(row.notes)) : {};
    for (const [name, n] of Object.entries(notes)) all[name] = (all[name] ?? 0) + n;
    this.#sql("UPDATE runs SET notes = ? WHERE id = ?").run(JSON.stringify(all), runId);
  }

  /** Forgets the ids of alerts that occurred before `beforeMs`; returns how many. */
  async pruneAlertIds(integrationId: string, beforeMs: number): Promise<number> {
    return Number(
      this.#sql("DELETE FROM alert_ids WHERE integration_id = ? AND occurred_at < ?").run(
        integrationId,
        Math.floor(beforeMs / 1000),
      ).changes,
    );
  }

  // ── outbox ────────────────────────────────────────────────────────────────

  /** The oldest pending batch of an integration. */
  async nextPending(integrationId: string, afterSeq = 0): Promise<BatchRow | undefined> {
    const row = this.#sql(
      "SELECT * FROM batches WHERE integration_id = ? AND status = 'pending' AND seq > ? ORDER BY seq LIMIT 1",
    ).get(integrationId, afterSeq) as Row | undefined;
    return row ? batchFrom(row) : undefined;
  }

  /** Integrations with batches waiting. */
  async integrationsWithPending(): Promise<string[]> {
    return (this.#sql("SELECT DISTINCT integration_id FROM batches WHERE status = 'pending'")
      .all() as Row[])
      .map((r) => String(r.integration_id));
  }

  async pendingCount(integrationId: string): Promise<number> {
    return Number(
      (this.#sql(
        "SELECT COUNT(*) AS n FROM batches WHERE integration_id = ? AND status = 'pending'",
      ).get(integrationId) as Row).n,
    );
  }

  /** A delivered batch leaves the outbox; its run is credited. */
  async markDelivered(batch: BatchRow): Promise<void> {
    // One statement: the batches_delivered trigger credits the run in the same transaction.
    this.#sql("DELETE FROM batches WHERE seq = ? AND status = 'pending'").run(batch.seq);
  }

  async noteAttempt(seq: number, error: string): Promise<void> {
    this.#sql("UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE seq = ?").run(
      error,
      seq,
    );
  }

  async markDead(batch: BatchRow, error: string): Promise<void> {
    this.transaction(() => {
      // A batch given up twice (two deliverers) is one dead letter, counted once.
      const changed = Number(
        this.#sql(
          "UPDATE batches SET status = 'dead', last_error = ?, dead_at = ? WHERE seq = ? AND status = 'pending'",
        ).run(error, this.#iso(), batch.seq).changes,
      );
      if (changed > 0 && batch.runId) this.#addRunCounts(batch.runId, { deadLettered: 1 });
    });
  }

  async listDeadLetters(integrationId: string, limit = 100): Promise<BatchRow[]> {
    return (this.#sql(
      "SELECT * FROM batches WHERE integration_id = ? AND status = 'dead' ORDER BY seq LIMIT ?",
    ).all(integrationId, limit) as Row[]).map(batchFrom);
  }

  async deadLetterCount(integrationId?: string): Promise<number> {
    const row = integrationId
      ? this.#sql(
        "SELECT COUNT(*) AS n FROM batches WHERE status = 'dead' AND integration_id = ?",
      ).get(integrationId)
      : this.#sql("SELECT COUNT(*) AS n FROM batches WHERE status = 'dead'").get();
    return Number((row as Row).n);
  }

  /** Discards one dead letter for good; false when there is none by that id. */
  async discardDeadLetter(integrationId: string, webhookId: string): Promise<boolean> {
    const result = this.#sql(
      "DELETE FROM batches WHERE integration_id = ? AND status = 'dead' AND webhook_id = ?",
    ).run(integrationId, webhookId);
    return Number(result.changes) > 0;
  }

  /** Puts dead letters back in the outbox (all, or the given webhook ids); returns how many. */
  async redrive(integrationId: string, webhookIds?: string[]): Promise<number> {
    if (webhookIds && webhookIds.length > 0) {
      const stmt = this.#sql(
        "UPDATE batches SET status = 'pending', attempts = 0, dead_at = NULL WHERE integration_id = ? AND status = 'dead' AND webhook_id = ?",
      );
      return this.transaction(() =>
        webhookIds.reduce((n, id) => n + Number(stmt.run(integrationId, id).changes), 0)
      );
    }
    return Number(
      this.#sql(
        "UPDATE batches SET status = 'pending', attempts = 0, dead_at = NULL WHERE integration_id = ? AND status = 'dead'",
      ).run(integrationId).changes,
    );
  }

  // ── runs ──────────────────────────────────────────────────────────────────

  /** Records a run as `running`; with `backfill`, a run of kind backfill over that span. */
  async insertRun(
    run: {
      id: string;
      integrationId: string;
      trigger: string;
      startedAt: string;
      backfill?: BackfillSpan;
      hostId?: string;
    },
  ): Promise<void> {
    this.#sql(
      "INSERT INTO runs (id, integration_id, trigger, status, started_at, backfill, host_id) VALUES (?, ?, ?, 'running', ?, ?, ?)",
    )
      .run(
        run.id,
        run.integrationId,
        run.trigger,
        run.startedAt,
        run.backfill ? JSON.stringify(run.backfill) : null,
        run.hostId ?? null,
      );
  }

  async addRunCounts(runId: string, counts: Partial<RunCounts>): Promise<void> {
    this.#addRunCounts(runId, counts);
  }

  #addRunCounts(runId: string, counts: Partial<RunCounts>): void {
    this.#sql(
      `UPDATE runs SET fetched = fetched + ?, filtered = filtered + ?, invalid = invalid + ?, alerts = alerts + ?,
         delivered = delivered + ?, drift = drift + ?, dead_lettered = dead_lettered + ?, duplicates = duplicates + ?
       WHERE id = ?`,
    ).run(
      counts.fetched ?? 0,
      counts.filtered ?? 0,
      counts.invalid ?? 0,
      counts.alerts ?? 0,
      counts.delivered ?? 0,
      counts.drift ?? 0,
      counts.deadLettered ?? 0,
      counts.duplicates ?? 0,
      runId,
    );
  }

  async finishRun(runId: string, outcome: RunOutcome, fence?: Lease): Promise<void> {
    this.transaction(() => {
      if (fence) this.#checkFence(fence);
      this.#sql(
        "UPDATE runs SET status = ?, finished_at = ?, error = ?, error_code = ?, hint = ? WHERE id = ?",
      ).run(
        outcome.status,
        this.#iso(),
        outcome.error ?? null,
        outcome.errorCode ?? null,
        outcome.hint ?? null,
        runId,
      );
    });
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    const row = this.#sql("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
    return row ? runFrom(row) : undefined;
  }

  async listRuns(integrationId: string, limit = 20): Promise<RunRow[]> {
    return (this.#sql(
      "SELECT * FROM runs WHERE integration_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
    )
      .all(integrationId, limit) as Row[]).map(runFrom);
  }

  /**
   * One page of an integration's runs, newest first, after the `before` position of the page
   * above (a run's start and its row number, which breaks ties); each with its position.
   */
  async listRunsBefore(
    integrationId: string,
    options: { before?: RunPosition; limit: number },
  ): Promise<{ run: RunRow; position: RunPosition }[]> {
    const rows = options.before
      ? this.#sql(
        `SELECT rowid AS seq, * FROM runs WHERE integration_id = ?
           AND (started_at < ? OR (started_at = ? AND rowid < ?))
         ORDER BY started_at DESC, rowid DESC LIMIT ?`,
      ).all(
        integrationId,
        options.before.startedAt,
        options.before.startedAt,
        options.before.seq,
        options.limit,
      )
      : this.#sql(
        "SELECT rowid AS seq, * FROM runs WHERE integration_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
      ).all(integrationId, options.limit);
    return (rows as Row[]).map((r) => ({
      run: runFrom(r),
      position: { startedAt: String(r.started_at), seq: Number(r.seq) },
    }));
  }

  /**
   * Marks runs a crash left `running` as failed; returns how many. With `expiredOnly`, only the
   * runs whose integration holds no live lease (another host's run goes on).
   */
  async failInterruptedRuns(
    options: { expiredOnly?: boolean; integrationId?: string } = {},
  ): Promise<number> {
    let live = options.expiredOnly
      ? " AND integration_id NOT IN (SELECT integration_id FROM leases WHERE expires_ms > ?)"
      : "";
    const params: (string | number)[] = options.expiredOnly
      ? [this.#iso(), Date.now()]
      : [this.#iso()];
    if (options.integrationId) {
      live += " AND integration_id = ?";
      params.push(options.integrationId);
    }
    return Number(
      this.#sql(
        `UPDATE runs SET status = 'failed', finished_at = ?, error = 'Run interrupted: the host stopped before it finished',
         error_code = 'INTERRUPTED', hint = CASE WHEN backfill IS NULL
           THEN 'The next run resumes from the last stored page.'
           ELSE 'A backfill is not resumed: what it stored stays stored and is delivered; start it again over the span its progress had not reached.' END
         WHERE status = 'running'${live}`,
      ).run(...params).changes,
    );
  }

  // ── operator views ────────────────────────────────────────────────────────

  async listInvalid(integrationId: string, limit = 50): Promise<InvalidRow[]> {
    return (this.#sql(
      "SELECT * FROM invalid_records WHERE integration_id = ? ORDER BY id DESC LIMIT ?",
    ).all(integrationId, limit) as Row[]).map((r) => ({
      runId: String(r.run_id),
      record: JSON.parse(String(r.record)),
      issues: JSON.parse(String(r.issues)),
      createdAt: String(r.created_at),
    }));
  }

  async listStreams(integrationId: string): Promise<StreamRow[]> {
    const rows = this.#sql("SELECT * FROM streams WHERE integration_id = ? ORDER BY log_type")
      .all(integrationId) as Row[];
    return rows.map(streamFrom);
  }

  // ── leases (SPEC §5.7) ───────────────────────────────────────────────────
  // Expiry is measured on the database's clock, as the contract says: for an embedded database,
  // this machine's (`Date.now()`), never the clock the store was opened with (which tests fake
  // for the host's own stamps). A released lease keeps its row (expiry 0) so that its token only
  // ever grows.

  async acquireLease(
    integrationId: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<Lease | undefined> {
    const now = Date.now();
    const row = this.#sql(
      `INSERT INTO leases (integration_id, owner, token, expires_ms) VALUES (?, ?, 1, ?)
       ON CONFLICT(integration_id) DO UPDATE SET owner = excluded.owner, token = token + 1,
         expires_ms = excluded.expires_ms
       WHERE owner = excluded.owner OR expires_ms <= ?
       RETURNING token`,
    ).get(integrationId, owner, now + ttlSeconds * 1000, now) as Row | undefined;
    return row ? { integrationId, owner, token: Number(row.token) } : undefined;
  }

  async renewLease(lease: Lease, ttlSeconds: number): Promise<boolean> {
    return Number(
      this.#sql(
        "UPDATE leases SET expires_ms = ? WHERE integration_id = ? AND owner = ? AND token = ? AND expires_ms > ?",
      ).run(
        Date.now() + ttlSeconds * 1000,
        lease.integrationId,
        lease.owner,
        lease.token,
        Date.now(),
      )
        .changes,
    ) > 0;
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.#sql(
      "UPDATE leases SET expires_ms = 0 WHERE integration_id = ? AND owner = ? AND token = ?",
    ).run(lease.integrationId, lease.owner, lease.token);
  }

  async currentLease(integrationId: string): Promise<Lease | undefined> {
    const row = this.#sql(
      "SELECT owner, token FROM leases WHERE integration_id = ? AND expires_ms > ?",
    ).get(integrationId, Date.now()) as Row | undefined;
    return row ? { integrationId, owner: String(row.owner), token: Number(row.token) } : undefined;
  }

  /**
   * Throws LeaseLostError unless `fence` is still the integration's live lease: its token (which
   * only another acquisition changes) and not expired (a host that stalled past its lease has lost
   * it, even before another takes it). Called inside the write's own transaction.
   */
  #checkFence(fence: Lease): void {
    const row = this.#sql(
      "SELECT owner, token, expires_ms FROM leases WHERE integration_id = ?",
    ).get(fence.integrationId) as Row | undefined;
    if (
      !row || Number(row.token) !== fence.token || String(row.owner) !== fence.owner ||
      Number(row.expires_ms) <= Date.now()
    ) {
      throw new LeaseLostError(fence);
    }
  }

  // ── totals ────────────────────────────────────────────────────────────────

  async overview(): Promise<Map<string, IntegrationOverview>> {
    const all = new Map<string, IntegrationOverview>();
    for (const r of this.#sql("SELECT id FROM integrations").all()) {
      all.set(String(r.id), {
        lastRun: null,
        lastFinished: null,
        streams: [],
        pending: 0,
        dead: 0,
      });
    }
    // Each integration's newest run, and newest ended live run, found through the runs index.
    const newest = (where: string) =>
      this.#sql(
        `SELECT * FROM runs WHERE rowid IN (SELECT (SELECT rowid FROM runs r
           WHERE r.integration_id = i.id ${where} ORDER BY started_at DESC, rowid DESC LIMIT 1)
         FROM integrations i)`,
      ).all() as Row[];
    for (const r of newest("")) all.get(String(r.integration_id))!.lastRun = runFrom(r);
    for (const r of newest("AND r.status != 'running' AND r.backfill IS NULL")) {
      all.get(String(r.integration_id))!.lastFinished = runFrom(r);
    }
    for (const r of this.#sql("SELECT * FROM streams ORDER BY integration_id, log_type").all()) {
      all.get(String(r.integration_id))?.streams.push(streamFrom(r as Row));
    }
    for (
      const r of this.#sql(
        "SELECT integration_id, status, COUNT(*) AS n FROM batches GROUP BY integration_id, status",
      ).all()
    ) {
      const one = all.get(String(r.integration_id));
      if (!one) continue;
      if (r.status === "pending") one.pending = Number(r.n);
      else one.dead = Number(r.n);
    }
    return all;
  }

  async totals(): Promise<StoreTotals> {
    const runsByStatus: Record<string, number> = {};
    for (const r of this.#sql("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").all()) {
      runsByStatus[String(r.status)] = Number(r.n);
    }
    const sums = this.#sql(
      `SELECT COALESCE(SUM(fetched), 0) AS fetched, COALESCE(SUM(filtered), 0) AS filtered,
         COALESCE(SUM(invalid), 0) AS invalid, COALESCE(SUM(drift), 0) AS drift,
         COALESCE(SUM(duplicates), 0) AS duplicates, COALESCE(SUM(alerts), 0) AS alerts,
         COALESCE(SUM(delivered), 0) AS delivered FROM runs`,
    ).get() as Row;
    const outbox: StoreTotals["outbox"] = {};
    for (
      const r of this.#sql(
        `SELECT integration_id, SUM(status = 'pending') AS pending, SUM(status = 'dead') AS dead
         FROM batches GROUP BY integration_id`,
      ).all()
    ) {
      outbox[String(r.integration_id)] = { pending: Number(r.pending), dead: Number(r.dead) };
    }
    return {
      runsByStatus,
      records: {
        fetched: Number(sums.fetched),
        filtered: Number(sums.filtered),
        invalid: Number(sums.invalid),
        drift: Number(sums.drift),
        duplicates: Number(sums.duplicates),
        alerts: Number(sums.alerts),
        delivered: Number(sums.delivered),
      },
      outbox,
    };
  }
}

/** A stream row. */
function streamFrom(r: Row): StreamRow {
  return {
    logType: String(r.log_type),
    newestAt: r.newest_at === null ? null : String(r.newest_at),
    listedAt: r.listed_at === null || r.listed_at === undefined ? null : String(r.listed_at),
    alerts: Number(r.alerts),
    skipped: r.skipped ? JSON.parse(String(r.skipped)) : null,
  };
}
