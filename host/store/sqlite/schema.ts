/**
 * The host database's schema, as numbered migrations applied in order at open (the database's
 * `user_version` records how many have run).
 * @module
 */

/** Every migration, oldest first; append, never edit. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE integrations (
     id TEXT PRIMARY KEY,
     plugin_id TEXT NOT NULL,
     name TEXT NOT NULL,
     config TEXT NOT NULL,
     secrets TEXT NOT NULL,
     destination_url TEXT NOT NULL,
     interval_seconds INTEGER,
     enabled INTEGER NOT NULL DEFAULT 1,
     last_error TEXT,
     last_hint TEXT,
     last_run_at TEXT,
     last_success_at TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE checkpoints (
     integration_id TEXT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
     checkpoint TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE batches (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
     id TEXT PRIMARY KEY,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     trigger TEXT NOT NULL,
     status TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     fetched INTEGER NOT NULL DEFAULT 0,
     filtered INTEGER NOT NULL DEFAULT 0,
     invalid INTEGER NOT NULL DEFAULT 0,
     alerts INTEGER NOT NULL DEFAULT 0,
     delivered INTEGER NOT NULL DEFAULT 0,
     drift INTEGER NOT NULL DEFAULT 0,
     dead_lettered INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     error_code TEXT,
     hint TEXT
   );
   CREATE INDEX runs_by_integration ON runs(integration_id, started_at);
   CREATE TABLE invalid_records (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     run_id TEXT NOT NULL,
     record TEXT NOT NULL,
     issues TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE streams (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     log_type TEXT NOT NULL,
     newest_at TEXT,
     alerts INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (integration_id, log_type)
   );`,
  // Crediting a run when its batch leaves the outbox, inside the DELETE's own transaction.
  `CREATE TRIGGER batches_delivered AFTER DELETE ON batches WHEN old.status = 'pending' AND old.run_id IS NOT NULL
   BEGIN
     UPDATE runs SET delivered = delivered + old.alert_count WHERE id = old.run_id;
   END;`,
  // How far each stream has been listed, for its lag.
  `ALTER TABLE streams ADD COLUMN listed_at TEXT;`,
  // The ids of stored alerts per integration (SPEC §5.3): a page that brings an id stored within
  // the horizon stores and delivers it no second time. Keyed by the alert's time (epoch seconds)
  // first, so a page's inserts land on a few neighbouring B-tree pages instead of a hundred
  // random ones (10x less written per page), and pruning is a range delete. Runs count those
  // duplicates; the spans a run could not read (Mimecast's retention) are kept on the run and on
  // the stream.
  `CREATE TABLE alert_ids (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     occurred_at INTEGER NOT NULL,
     alert_id TEXT NOT NULL,
     PRIMARY KEY (integration_id, occurred_at, alert_id)
   ) WITHOUT ROWID;
   ALTER TABLE runs ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN skipped TEXT;
   ALTER TABLE streams ADD COLUMN skipped TEXT;`,
  // Per destination, the body's format (SPEC §4: the alerts as they are, or OCSF findings); per
  // run, the plugin's own named counts beside the fixed ones (e.g. rejections per reason).
  `ALTER TABLE integrations ADD COLUMN destination_format TEXT NOT NULL DEFAULT 'alerts';
   ALTER TABLE runs ADD COLUMN notes TEXT;`,
  // The alerts a page stored, kept for operators to search and export (SPEC §5.5) for the
  // retention (HOST_ALERT_RETENTION_DAYS): the filters' fields beside the alert as delivered.
  // `search` is the free-text fields lowercased by the host (SQLite's lower() knows only ASCII);
  // empty when they are all printable ASCII, which lower() handles when searching (alerts.ts).
  // Times are epoch milliseconds, so that ordering and ranges do not depend on how an ISO text
  // was written.
  `CREATE TABLE alerts (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     run_id TEXT,
     alert_id TEXT NOT NULL,
     log_type TEXT NOT NULL,
     alert_type TEXT,
     threat_id TEXT,
     occurred_ms INTEGER NOT NULL,
     stored_ms INTEGER NOT NULL,
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
   CREATE INDEX alerts_stored ON alerts(stored_ms);`,
  // The console's charts (SPEC §5.8), per integration, log type and UTC hour (epoch ms of its
  // start): the alerts stored in that hour, counted by the page's own transaction, and the largest
  // lag seen at the end of a run in it. A few rows a day per log type, however many alerts, so a
  // week's chart reads 168 rows instead of grouping every stored alert; pruned with the alerts'
  // retention. By hour first too, for the dashboard's one grouped read of every integration's day
  // and for pruning.
  `CREATE TABLE stream_hours (
     integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
     log_type TEXT NOT NULL,
     hour_ms INTEGER NOT NULL,
     alerts INTEGER NOT NULL DEFAULT 0,
     lag_seconds INTEGER,
     PRIMARY KEY (integration_id, hour_ms, log_type)
   ) WITHOUT ROWID;
   CREATE INDEX stream_hours_by_hour ON stream_hours(hour_ms, integration_id, alerts);`,
  // New integrations start paused until a connection check passes for every log type or the
  // operator enables the schedule (SPEC §5.8): `awaiting_check` marks the ones still waiting, so
  // the first passing check turns the schedule on once, and a schedule an operator turned off
  // stays off. Integrations from before keep their schedule as it was.
  `ALTER TABLE integrations ADD COLUMN awaiting_check INTEGER NOT NULL DEFAULT 0;`,
  // The console's login sessions, so that a restart keeps operators logged in (SPEC §5.5): the
  // SHA-256 of the session id (never the id), its CSRF token and its expiry.
  `CREATE TABLE ui_sessions (
     id_hash TEXT PRIMARY KEY,
     csrf TEXT NOT NULL,
     expires_ms INTEGER NOT NULL
   );
   CREATE INDEX ui_sessions_expiry ON ui_sessions(expires_ms);`,
  // Per run, how far each stream was received (SPEC §5.5's `progress`), and for a backfill
  // (SPEC §5.3) the span it replays: a run with one is of kind `backfill`.
  `ALTER TABLE runs ADD COLUMN progress TEXT;
   ALTER TABLE runs ADD COLUMN backfill TEXT;`,
  // The host that ran each run (SPEC §5.5, §5.7: with several hosts, where it ran).
  `ALTER TABLE runs ADD COLUMN host_id TEXT;`,
  // Leases (SPEC §5.7): which host may run an integration, until when (epoch ms), and its fencing
  // token, which grows at every acquisition so a write carrying an older one is refused.
  `CREATE TABLE leases (
     integration_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     token INTEGER NOT NULL,
     expires_ms INTEGER NOT NULL
   );`,
  // The one notice a session's next page shows ("Run started"), kept with the session so that it
  // reaches the operator whichever host serves that page.
  `ALTER TABLE ui_sessions ADD COLUMN flash TEXT;`,
];
