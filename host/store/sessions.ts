/**
 * The console's login sessions (SPEC §5.5: they survive a restart, and with a shared database
 * work on every host). A row holds the SHA-256 of the session id, never the id itself (a copy of
 * the database opens no session), with the session's CSRF token and its expiry.
 * @module
 */
import { createHash } from "node:crypto";

/** A stored session: its CSRF token and when it ends (epoch ms). */
export interface StoredSession {
  csrf: string;
  expiresMs: number;
}

/** The SHA-256 of a session id, as hex: what the table is keyed by. */
export function sessionHash(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}
