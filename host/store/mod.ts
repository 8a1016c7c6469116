/**
 * Where the host keeps what it keeps: the storage contract (`HostStore`, SPEC §5.7), the
 * database-neutral row types and helpers both implementations share, and `openStore`, which opens
 * the SQLite store in the data folder (the default) or, with `HOST_DATABASE_URL`, PostgreSQL.
 * Callers hold a `HostStore`, never an implementation.
 * @module
 */
import type { HostStore } from "./contract.ts";
import { PostgresStore } from "./postgres/mod.ts";
export { describe as describeDatabase } from "./postgres/connect.ts";
import { SqliteStore } from "./sqlite/mod.ts";

export type {
  AlertStoreContract,
  HostStore,
  IntegrationFields,
  IntegrationOutcome,
  IntegrationOverview,
  InvalidRow,
  Lease,
  NewIntegration,
  RunOutcome,
  ScheduleRow,
  SessionStoreContract,
  StoreTotals,
  StreamHoursContract,
  StreamRow,
} from "./contract.ts";
export { LeaseLostError } from "./contract.ts";
export type {
  AlertSummary,
  AlertWrite,
  BackfillSpan,
  BatchRow,
  IntegrationRow,
  PageWrite,
  RunCounts,
  RunPosition,
  RunRow,
} from "./rows.ts";
export { INVALID_KEPT } from "./rows.ts";
export {
  ALERT_RETENTION_DAYS,
  type AlertCursor,
  type AlertFilter,
  PRUNE_ROWS,
  searchText,
  type StoredAlert,
  summaryOf,
} from "./alerts.ts";
export { HOUR_MS, hourOf, type StreamHour } from "./stream_hours.ts";
export { sessionHash, type StoredSession } from "./sessions.ts";

/** Where to open the store. */
export interface StoreOptions {
  /** The data folder, which holds `host.sqlite` when no database URL is given. */
  dataDir: string;
  /** A PostgreSQL URL (HOST_DATABASE_URL): several hosts share that database. */
  databaseUrl?: string;
  /** Stamps rows (runs, batches, sessions), so tests can fake time. */
  now?: () => number;
}

/**
 * The SQLite store in a data folder (`host.sqlite`), opened and migrated at once: what a host
 * without HOST_DATABASE_URL uses.
 */
export function sqliteStore(dataDir: string, now: () => number = Date.now): HostStore {
  return new SqliteStore(`${dataDir}/host.sqlite`, now);
}

/** Opens (and migrates) the host's store: PostgreSQL with a database URL, else SQLite. */
export async function openStore(options: StoreOptions): Promise<HostStore> {
  if (options.databaseUrl) {
    return await PostgresStore.open(options.databaseUrl, { now: options.now });
  }
  return sqliteStore(options.dataDir, options.now);
}
