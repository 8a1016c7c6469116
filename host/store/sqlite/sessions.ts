/**
 * The console's login sessions in SQLite, keyed by the SHA-256 of their id (`../sessions.ts`).
 * @module
 */
// node:sqlite answers synchronously; the methods are async to keep the contract.
// deno-lint-ignore-file require-await
import type { StatementSync } from "node:sqlite";
import type { SessionStoreContract } from "../contract.ts";
import type { Row } from "../rows.ts";
import { sessionHash, type StoredSession } from "../sessions.ts";

/** The sessions table. */
export class SessionStore implements SessionStoreContract {
  #sql: (sql: string) => StatementSync;

  constructor(sql: (sql: string) => StatementSync) {
    this.#sql = sql;
  }

  /** Keeps a new session, and forgets the ones that ended before `nowMs`. */
  async add(id: string, session: StoredSession, nowMs: number): Promise<void> {
    await this.prune(nowMs);
    this.#sql("INSERT INTO ui_sessions (id_hash, csrf, expires_ms) VALUES (?, ?, ?)")
      .run(sessionHash(id), session.csrf, session.expiresMs);
  }

  /** The session with this id, if it is stored (expired or not: the caller decides). */
  async get(id: string): Promise<StoredSession | undefined> {
    const row = this.#sql("SELECT csrf, expires_ms FROM ui_sessions WHERE id_hash = ?")
      .get(sessionHash(id)) as Row | undefined;
    return row ? { csrf: String(row.csrf), expiresMs: Number(row.expires_ms) } : undefined;
  }

  /** Forgets one session (a logout, or one found expired). */
  async delete(id: string): Promise<void> {
    this.#sql("DELETE FROM ui_sessions WHERE id_hash = ?").run(sessionHash(id));
  }

  async setFlash(id: string, text: string): Promise<void> {
    this.#sql("UPDATE ui_sessions SET flash = ? WHERE id_hash = ?").run(text, sessionHash(id));
  }

  async takeFlash(id: string): Promise<string | undefined> {
    // Read and cleared with nothing in between: this connection's statements run one by one.
    const hash = sessionHash(id);
    const row = this.#sql("SELECT flash FROM ui_sessions WHERE id_hash = ?").get(hash) as
      | Row
      | undefined;
    if (row?.flash === null || row?.flash === undefined) return undefined;
    this.#sql("UPDATE ui_sessions SET flash = NULL WHERE id_hash = ?").run(hash);
    return String(row.flash);
  }

  /** Forgets every session that ended before `nowMs`; returns how many. */
  async prune(nowMs: number): Promise<number> {
    return Number(this.#sql("DELETE FROM ui_sessions WHERE expires_ms < ?").run(nowMs).changes);
  }
}
