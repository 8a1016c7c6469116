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

  async prune(nowMs: number): Promise<number> {
    return (await this.#sql`DELETE FROM ui_sessions WHERE expires_ms < ${nowMs}`).count;
  }
}
