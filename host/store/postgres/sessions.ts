/**
 * The console's login sessions in PostgreSQL, keyed by the SHA-256 of their id (`../sessions.ts`):
 * with one database, a session opened on one host works on every host.
 * @module
 */
import type postgres from "postgres";
import type { SessionStoreContract } from "../contract.ts";
import { sessionHash, type StoredSession } from "../sessions.ts";

/** The `ui_sessions` table. */
export class PostgresSessions implements SessionStoreContract {
  #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async add(id: string, session: StoredSession, nowMs: number): Promise<void> {
    await this.prune(nowMs);
    await this.#sql`INSERT INTO ui_sessions (id_hash, csrf, expires_ms)
      VALUES (${sessionHash(id)}, ${session.csrf}, ${session.expiresMs})`;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const [row] = await this.#sql`SELECT csrf, expires_ms FROM ui_sessions
      WHERE id_hash = ${sessionHash(id)}`;
    return row ? { csrf: String(row.csrf), expiresMs: Number(row.expires_ms) } : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.#sql`DELETE FROM ui_sessions WHERE id_hash = ${sessionHash(id)}`;
  }

  async setFlash(id: string, text: string): Promise<void> {
    await this.#sql`UPDATE ui_sessions SET flash = ${text} WHERE id_hash = ${sessionHash(id)}`;
  }

  async takeFlash(id: string): Promise<string | undefined> {
    // The old value, read and cleared in one statement (two hosts never both show it).
    const [row] = await this.#sql`UPDATE ui_sessions AS s SET flash = NULL
      FROM (SELECT id_hash, flash FROM ui_sessions WHERE id_hash = ${
      sessionHash(id)
    } FOR UPDATE) old
      WHERE s.id_hash = old.id_hash AND old.flash IS NOT NULL RETURNING old.flash`;
    return row ? String(row.flash) : undefined;
  }

  async prune(nowMs: number): Promise<number> {
    return (await this.#sql`DELETE FROM ui_sessions WHERE expires_ms < ${nowMs}`).count;
  }
}
