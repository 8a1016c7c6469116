/**
 * The stable alert id (SPEC §3.6): a hash of the log type and the record's key, so the same
 * Mimecast record always yields the same id.
 * @module
 */
import { createHash } from "node:crypto";

/** 32 hex characters of SHA-256 over `logType\nkey`. */
export function stableId(logType: string, key: string): string {
  return createHash("sha256").update(`${logType}\n${key}`).digest("hex").slice(0, 32);
}
