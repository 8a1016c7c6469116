/**
 * Leases (SPEC §5.7): one row per integration with its owner, a fencing token and an expiry on
 * the database's clock (`now()`), so hosts whose clocks disagree still agree on who owns what.
 * A lease counts as held while its owner and token match and it has not expired: a lease that
 * expired is lost even before another host takes it, so its holder renews it in time or stops.
 * @module
 */
import type postgres from "postgres";
import { type Lease, LeaseLostError } from "../contract.ts";
import type { Db } from "./rows.ts";

/** A lease from its row. */
function leaseFrom(r: postgres.Row): Lease {
  return {
    integrationId: String(r.integration_id),
    owner: String(r.owner),
    token: Number(r.token),
  };
}

/**
 * Takes the lease when it is free, expired or already `owner`'s; the token grows by one at every
 * acquisition (the row survives releases, so a token is never handed out twice).
 */
export async function acquireLease(
  sql: Db,
  lease: { integrationId: string; owner: string; ttlSeconds: number },
): Promise<Lease | undefined> {
  const [row] = await sql`INSERT INTO leases (integration_id, owner, token, expires_at)
    VALUES (${lease.integrationId}, ${lease.owner}, 1,
      now() + ${lease.ttlSeconds}::float8 * interval '1 second')
    ON CONFLICT (integration_id) DO UPDATE SET owner = excluded.owner,
      token = leases.token + 1, expires_at = excluded.expires_at
    WHERE leases.expires_at <= now() OR leases.owner = excluded.owner
    RETURNING integration_id, owner, token`;
  return row ? leaseFrom(row) : undefined;
}

/** Extends a lease still held; false when it expired, was released or was taken. */
export async function renewLease(
  sql: Db,
  lease: Lease,
  ttlSeconds: number,
): Promise<boolean> {
  const result = await sql`UPDATE leases
    SET expires_at = now() + ${ttlSeconds}::float8 * interval '1 second'
    WHERE integration_id = ${lease.integrationId} AND owner = ${lease.owner}
      AND token = ${lease.token} AND expires_at > now()`;
  return result.count > 0;
}

/** Gives a lease up: it expires now, and its row keeps the token for the next acquisition. */
export async function releaseLease(sql: Db, lease: Lease): Promise<void> {
  await sql`UPDATE leases SET expires_at = now()
    WHERE integration_id = ${lease.integrationId} AND owner = ${lease.owner}
      AND token = ${lease.token}`;
}

/** The lease of an integration that has not expired, if any. */
export async function currentLease(
  sql: Db,
  integrationId: string,
): Promise<Lease | undefined> {
  const [row] = await sql`SELECT integration_id, owner, token FROM leases
    WHERE integration_id = ${integrationId} AND expires_at > now()`;
  return row ? leaseFrom(row) : undefined;
}

/**
 * Inside a fenced write's transaction: locks the lease row (a host taking it over waits for this
 * transaction to end) and throws LeaseLostError unless `lease` is still held.
 */
export async function checkFence(tx: Db, lease: Lease): Promise<void> {
  const [row] = await tx`SELECT owner, token, expires_at > now() AS live FROM leases
    WHERE integration_id = ${lease.integrationId} FOR UPDATE`;
  if (!row || row.owner !== lease.owner || Number(row.token) !== lease.token || !row.live) {
    throw new LeaseLostError(lease);
  }
}

/** Throws when a fenced write is about another integration than its lease's (a host's bug). */
export function checkSubject(lease: Lease, subject: { integrationId: string }): void {
  if (subject.integrationId !== lease.integrationId) {
    throw new Error(
      `Cannot write for integration ${subject.integrationId} under the lease of integration ${lease.integrationId}`,
    );
  }
}
