/**
 * The console's login sessions (SPEC §5.5: they survive a restart, and with a shared database
 * work on every host). A row holds the SHA-256 of the session id, never the id itself (a copy of
 * the database opens no session), with the session's CSRF token and its expiry.
 * @module
 */
import { createHash } from "node:crypto";
import type { StatementSync } from "node:sqlite";
import type { Row } from "./rows.ts";

/** A stored session: its CSRF token and when it ends (epoch ms). */
export interface StoredSession {
  csrf: string;
  expiresMs: number;
}

/** The SHA-256 of a session id, as hex: what the table is keyed by. */
export function sessionHash(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

/** The sessions table. */
export class SessionStore {
  #sql: (sql: string) => StatementSync;

  constructor(sql: (sql: string) => StatementSync) {
    this.#sql = sql;
  }

  /** Keeps a new session, and forgets the ones that ended before `nowMs`. */
  add(id: string, session: StoredSession, nowMs: number): void {
    this.prune(nowMs);
    this.#sql("INSERT INTO ui_sessions (id_hash, csrf, expires_ms) VALUES (?, ?, ?)")
      .run(sessionHash(id), session.csrf, session.expiresMs);
  }

  /** The session with this id, if it is stored (expired or not: the caller decides). */
  get(id: string): StoredSession | undefined {
    const row = this.#sql("SELECT csrf, expires_ms FROM ui_sessions WHERE id_hash = ?")
      .get(sessionHash(id)) as Row | undefined;
    return row ? { csrf: String(row.csrf), expiresMs: Number(row.expires_ms) } : undefined;
  }

  /** Forgets one session (a logout, or one found expired). */
  delete(id: string): void {
    this.#sql("DELETE FROM ui_sessions WHERE id_hash = ?").run(sessionHash(id));
  }

  /** Forgets every session that ended before `nowMs`; returns how many. */
  prune(nowMs: number): number {
    return Number(this.#sql("DELETE FROM ui_sessions WHERE expires_ms < ?").run(nowMs).changes);
  }
}
