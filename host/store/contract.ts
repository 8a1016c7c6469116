/**
 * The storage contract (SPEC §5.7): what the host asks of its database, as whole units of work
 * ("store this page with its checkpoint", "take this integration's lease"), never SQL. Two
 * implementations keep it: SQLite (`./sqlite/`, the zero-setup default, one host) and PostgreSQL
 * (`./postgres/`, any number of hosts on one database). Every method is asynchronous, since a
 * server database answers over the network; one contract test suite runs against both
 * (`test/host/store/contract_test.ts`).
 *
 * Times the host stamps (runs, batches, sessions) come from the clock the store was opened with,
 * so tests can fake them; lease expiry alone is measured on the database's clock, so that hosts
 * whose clocks disagree still agree on who owns what.
 * @module
 */
import type { SkippedSpan } from "../types.ts";
import type {
  BackfillSpan,
  BatchRow,
  IntegrationRow,
  PageWrite,
  RunCounts,
  RunPosition,
  RunRow,
  ScheduleRow,
} from "./rows.ts";
import type { AlertCursor, AlertFilter, StoredAlert } from "./alerts.ts";
import type { StreamHour } from "./stream_hours.ts";
import type { StoredSession } from "./sessions.ts";

export type { ScheduleRow };

/** The integration fields an update may change. */
export type IntegrationFields = Partial<
  Pick<
    IntegrationRow,
    | "name"
    | "config"
    | "secrets"
    | "destinationUrl"
    | "destinationFormat"
    | "intervalSeconds"
    | "enabled"
    | "awaitingCheck"
  >
>;

/** A new integration, before any run. */
export type NewIntegration = Omit<
  IntegrationRow,
  "lastError" | "lastHint" | "lastRunAt" | "lastSuccessAt"
>;

/** How a run ended. */
export interface RunOutcome {
  status: "succeeded" | "failed" | "cancelled";
  error?: string;
  errorCode?: string;
  hint?: string;
}

/** What an integration's last run left for its status. */
export interface IntegrationOutcome {
  error: string | null;
  hint: string | null;
  at: string;
  success: boolean;
}

/** One stream (log type) of an integration, as stored pages left it. */
export interface StreamRow {
  logType: string;
  newestAt: string | null;
  listedAt: string | null;
  alerts: number;
  skipped: SkippedSpan | null;
}

/** A record that did not fit, kept for the operator. */
export interface InvalidRow {
  runId: string;
  record: unknown;
  issues: unknown;
  createdAt: string;
}

/**
 * The right to run one integration, held by one host until it expires: `token` grows by one at
 * every acquisition, so a write carrying an older token (a host that stalled past its lease)
 * is refused (fencing).
 */
export interface Lease {
  integrationId: string;
  owner: string;
  token: number;
}

/** Thrown by a fenced write whose lease was lost to another host. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(readonly lease: Lease) {
    super(
      `Host ${lease.owner} no longer holds the lease of integration ${lease.integrationId} (token ${lease.token}); another host took it over`,
    );
  }
}

/** What a list shows of one integration (the dashboard, GET /api/integrations, /metrics). */
export interface IntegrationOverview {
  /** Its newest run, whatever its kind or state. */
  lastRun: RunRow | null;
  /** Its newest live run (not a backfill) that has ended: what its status is reckoned from. */
  lastFinished: RunRow | null;
  streams: StreamRow[];
  /** Batches waiting in the outbox, and dead letters. */
  pending: number;
  dead: number;
}

/** Totals across every integration, for `/metrics`, each from one set-based query. */
export interface StoreTotals {
  runsByStatus: Record<string, number>;
  records: Pick<
    RunCounts,
    "fetched" | "filtered" | "invalid" | "drift" | "duplicates" | "alerts" | "delivered"
  >;
  /** Per integration id: batches waiting in the outbox and dead letters. */
  outbox: Record<string, { pending: number; dead: number }>;
}

/** The stored alerts (SPEC §5.5), kept for the retention. */
export interface AlertStoreContract {
  /** Up to `limit` alerts matching `filter`, newest first, after `before` when given. */
  list(
    filter: AlertFilter,
    options: { before?: AlertCursor; limit: number },
  ): Promise<StoredAlert[]>;
  /** Deletes a bounded number of alerts stored before `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
}

/** The charts' hours (SPEC §5.8). */
export interface StreamHoursContract {
  noteLags(
    integrationId: string,
    lags: { logType: string; lagSeconds: number }[],
    nowMs: number,
  ): Promise<void>;
  list(integrationId: string, fromMs: number, toMs: number): Promise<StreamHour[]>;
  alertsByIntegration(
    fromMs: number,
    toMs: number,
  ): Promise<{ integrationId: string; hourMs: number; alerts: number }[]>;
  prune(beforeMs: number): Promise<number>;
}

/** The console's login sessions, kept by the hash of their id. */
export interface SessionStoreContract {
  add(id: string, session: StoredSession, nowMs: number): Promise<void>;
  get(id: string): Promise<StoredSession | undefined>;
  delete(id: string): Promise<void>;
  prune(nowMs: number): Promise<number>;
  /** Keeps one notice for the session's next page (replacing any not shown yet). */
  setFlash(id: string, text: string): Promise<void>;
  /** The session's notice, if any, removed as it is read. */
  takeFlash(id: string): Promise<string | undefined>;
}

/** What the host keeps, whichever database keeps it. */
export interface HostStore {
  readonly alerts: AlertStoreContract;
  readonly hours: StreamHoursContract;
  readonly sessions: SessionStoreContract;

  /** Why the database cannot be used right now (gone, unwritable), or undefined when it can. */
  problem(): Promise<string | undefined>;
  close(): Promise<void>;

  // Integrations.
  insertIntegration(row: NewIntegration): Promise<void>;
  updateIntegration(id: string, fields: IntegrationFields): Promise<void>;
  /** Turns on the schedule of an integration still waiting for its first passing check, once. */
  enableAfterCheck(id: string): Promise<boolean>;
  /** Replaces integrations' sealed secrets, all at once (a key rotation). */
  replaceSecrets(sealed: { id: string; secrets: string }[]): Promise<void>;
  deleteIntegration(id: string): Promise<boolean>;
  getIntegration(id: string): Promise<IntegrationRow | undefined>;
  listIntegrations(): Promise<IntegrationRow[]>;
  /**
   * Every integration's schedule and newest run, in `listIntegrations()`'s order, from one
   * set-based query: what the scheduler reads each tick (no config, secrets or overview).
   */
  scheduleRows(): Promise<ScheduleRow[]>;
  setOutcome(id: string, outcome: IntegrationOutcome, fence?: Lease): Promise<void>;

  // Checkpoints and pages.
  getCheckpoint(integrationId: string): Promise<unknown>;
  /**
   * Stores a page in one transaction: its new alerts as outbox batches and in the alerts store
   * (ids already stored are dropped and counted as duplicates), its checkpoint, invalid records,
   * stream progress, skipped spans and counts. With `fence`, refused (LeaseLostError) unless the
   * lease is still the one given.
   */
  storePage(page: PageWrite, fence?: Lease): Promise<{ stored: number; duplicates: number }>;
  /** Forgets the ids of alerts that occurred before `beforeMs`; returns how many. */
  pruneAlertIds(integrationId: string, beforeMs: number): Promise<number>;

  // The outbox and dead letters.
  nextPending(integrationId: string, afterSeq?: number): Promise<BatchRow | undefined>;
  integrationsWithPending(): Promise<string[]>;
  pendingCount(integrationId: string): Promise<number>;
  /** A delivered batch leaves the outbox and its run is credited, in one transaction. */
  markDelivered(batch: BatchRow): Promise<void>;
  noteAttempt(seq: number, error: string): Promise<void>;
  /** A pending batch becomes a dead letter, its run credited once (a second call changes nothing). */
  markDead(batch: BatchRow, error: string): Promise<void>;
  listDeadLetters(integrationId: string, limit?: number): Promise<BatchRow[]>;
  deadLetterCount(integrationId?: string): Promise<number>;
  discardDeadLetter(integrationId: string, webhookId: string): Promise<boolean>;
  /** Puts dead letters back in the outbox (all, or these webhook ids); returns how many. */
  redrive(integrationId: string, webhookIds?: string[]): Promise<number>;

  // Runs.
  insertRun(run: {
    id: string;
    integrationId: string;
    trigger: string;
    startedAt: string;
    backfill?: BackfillSpan;
    hostId?: string;
  }): Promise<void>;
  addRunCounts(runId: string, counts: Partial<RunCounts>): Promise<void>;
  finishRun(runId: string, outcome: RunOutcome, fence?: Lease): Promise<void>;
  getRun(id: string): Promise<RunRow | undefined>;
  listRuns(integrationId: string, limit?: number): Promise<RunRow[]>;
  listRunsBefore(
    integrationId: string,
    options: { before?: RunPosition; limit: number },
  ): Promise<{ run: RunRow; position: RunPosition }[]>;
  /**
   * Marks runs left `running` as failed (interrupted); returns how many. With `expiredOnly`
   * (several hosts), only the runs whose integration's lease has expired: never another live
   * host's run. With `integrationId`, only that integration's: what a host that has just taken
   * its lease calls, since a run still `running` there belonged to a holder that lost it.
   */
  failInterruptedRuns(options?: { expiredOnly?: boolean; integrationId?: string }): Promise<number>;
  listInvalid(integrationId: string, limit?: number): Promise<InvalidRow[]>;
  listStreams(integrationId: string): Promise<StreamRow[]>;

  // Leases (SPEC §5.7).
  /**
   * Takes an integration's lease for `owner` when it is free or expired (or already this
   * owner's), for `ttlSeconds` on the database's clock; undefined when another host holds it.
   * Every acquisition raises the token, the owner's own included, so a host keeps a lease it
   * holds with `renewLease`, never by acquiring it again (its older fence would stop working).
   */
  acquireLease(
    integrationId: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<Lease | undefined>;
  /**
   * Extends a lease still held; false when it was lost: expired (even if nobody took it yet),
   * taken by another, or released. A fenced write under an expired lease is refused the same way.
   */
  renewLease(lease: Lease, ttlSeconds: number): Promise<boolean>;
  /** Gives a lease up (its integration can be taken at once). */
  releaseLease(lease: Lease): Promise<void>;
  /** The lease an integration's run holds now, if any has not expired. */
  currentLease(integrationId: string): Promise<Lease | undefined>;

  /** Totals for `/metrics`. */
  totals(): Promise<StoreTotals>;
  /**
   * Every integration's overview by id, from a few set-based queries however many integrations
   * there are (an integration with nothing yet has null runs, no streams and zero counts).
   */
  overview(): Promise<Map<string, IntegrationOverview>>;
}
