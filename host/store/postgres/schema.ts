/**
 * The PostgreSQL store's schema, as numbered migrations applied in order at open. The tables are
 * SQLite's (`../schema.ts`) as they stand after its migrations, written once for PostgreSQL:
 * `bigserial` sequence numbers, `bigint` epoch milliseconds, JSON kept as text (as written, key
 * order included), and `COLLATE "C"` on the text a listing orders or compares by, so that the
 * order is SQLite's byte order whatever locale the database was created with. Leases (SPEC §5.7)
 * exist only here: SQLite serves one host.
 * @module
 */
import type postgres from "postgres";

/** Every migration, oldest first; append, never edit. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE integrations (
     id TEXT COLLATE "C" PRIMARY KEY,
     plugin_id TEXT NOT NULL,
     name TEXT NOT NULL,
     config TEXT NOT NULL,
     secrets TEXT NOT NULL,
     destination_url TEXT NOT NULL,
     destination_format TEXT NOT NULL DEFAULT 'alerts',
     interval_seconds INTEGER,
     enabled BOOLEAN NOT NULL DEFAULT TRUE,
     awaiting_check BOOLEAN NOT NULL DEFAULT FALSE,
     last_error TEXT,
     last_hint TEXT,
     last_run_at TEXT,
     last_success_at TEXT,
     created_at TEXT COLLATE "C" NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE checkpoints (
     integration_id TEXT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
     checkpoint TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE batches (
     seq BIGSERIAL PRIMARY KEY,
     webhook_id TEXT NOT NULL UNIQUE,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     run_id TEXT,
     body TEXT NOT NULL,
     alert_count INTEGER NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending',
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     created_at TEXT NOT NULL,
     dead_at TEXT
   );
   CREATE INDEX batches_pending ON batches(integration_id, status, seq);
   CREATE TABLE runs (
     seq BIGSERIAL NOT NULL,
     id TEXT PRIMARY KEY,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     trigger TEXT NOT NULL,
     host_id TEXT,
     status TEXT NOT NULL,
     started_at TEXT COLLATE "C" NOT NULL,
     finished_at TEXT,
     fetched BIGINT NOT NULL DEFAULT 0,
     filtered BIGINT NOT NULL DEFAULT 0,
     invalid BIGINT NOT NULL DEFAULT 0,
     alerts BIGINT NOT NULL DEFAULT 0,
     delivered BIGINT NOT NULL DEFAULT 0,
     drift BIGINT NOT NULL DEFAULT 0,
     dead_lettered BIGINT NOT NULL DEFAULT 0,
     duplicates BIGINT NOT NULL DEFAULT 0,
     skipped TEXT,
     notes TEXT,
     progress TEXT,
     backfill TEXT,
     error TEXT,
     error_code TEXT,
     hint TEXT
   );
   CREATE INDEX runs_by_integration ON runs(integration_id, started_at, seq);
   CREATE INDEX runs_running ON runs(integration_id) WHERE status = 'running';
   CREATE TABLE invalid_records (
     id BIGSERIAL PRIMARY KEY,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     run_id TEXT NOT NULL,
     record TEXT NOT NULL,
     issues TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX invalid_by_integration ON invalid_records(integration_id, id);
   CREATE TABLE streams (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     log_type TEXT COLLATE "C" NOT NULL,
     newest_at TEXT COLLATE "C",
     listed_at TEXT COLLATE "C",
     alerts BIGINT NOT NULL DEFAULT 0,
     skipped TEXT,
     PRIMARY KEY (integration_id, log_type)
   );
   CREATE TABLE alert_ids (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     occurred_at BIGINT NOT NULL,
     alert_id TEXT NOT NULL,
     PRIMARY KEY (integration_id, occurred_at, alert_id)
   );
   CREATE TABLE alerts (
     seq BIGSERIAL PRIMARY KEY,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     run_id TEXT,
     alert_id TEXT NOT NULL,
     log_type TEXT NOT NULL,
     alert_type TEXT,
     threat_id TEXT,
     occurred_ms BIGINT NOT NULL,
     stored_ms BIGINT NOT NULL,
     sender TEXT,
     recipient TEXT,
     subject TEXT,
     url TEXT,
     file_name TEXT,
     hash TEXT,
     search TEXT NOT NULL,
     json TEXT NOT NULL
   );
   CREATE INDEX alerts_newest ON alerts(occurred_ms, seq);
   CREATE INDEX alerts_by_integration ON alerts(integration_id, occurred_ms, seq);
   CREATE INDEX alerts_stored ON alerts(stored_ms);
   CREATE TABLE stream_hours (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     log_type TEXT COLLATE "C" NOT NULL,
     hour_ms BIGINT NOT NULL,
     alerts BIGINT NOT NULL DEFAULT 0,
     lag_seconds BIGINT,
     PRIMARY KEY (integration_id, hour_ms, log_type)
   );
   CREATE INDEX stream_hours_by_hour ON stream_hours(hour_ms, integration_id, alerts);
   CREATE TABLE ui_sessions (
     id_hash TEXT PRIMARY KEY,
     csrf TEXT NOT NULL,
     expires_ms BIGINT NOT NULL
   );
   CREATE INDEX ui_sessions_expiry ON ui_sessions(expires_ms);`,
  // The right to run an integration (SPEC §5.7). The row outlives a release (its expiry moves
  // to now) so that the token keeps growing: a token is never handed out twice.
  `CREATE TABLE leases (
     integration_id TEXT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
     owner TEXT NOT NULL,
     token BIGINT NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL
   );`,
  // The one notice a session's next page shows ("Run started"), kept with the session so that it
  // reaches the operator whichever host serves that page.
  `ALTER TABLE ui_sessions ADD COLUMN flash TEXT;`,
];

/** The advisory lock key the migrations are taken under (any constant; "mimecast" in ASCII). */
const MIGRATION_LOCK = 0x6d696d6563617374n;

/**
 * Applies the migrations not yet applied (returns the schema version in force), in one transaction under an advisory lock: hosts that
 * start together wait for the first, then find nothing left to do.
 */
export async function migrate(sql: postgres.Sql): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`;
    const [row] = await tx`SELECT version FROM schema_version`;
    const version = row ? Number(row.version) : 0;
    if (version >= MIGRATIONS.length) return version;
    for (let i = version; i < MIGRATIONS.length; i++) await tx.unsafe(MIGRATIONS[i]);
    if (!row) await tx`INSERT INTO schema_version (version) VALUES (${MIGRATIONS.length})`;
    else await tx`UPDATE schema_version SET version = ${MIGRATIONS.length}`;
    return MIGRATIONS.length;
  });
}
