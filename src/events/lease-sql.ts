import { type RawBuilder, sql } from 'kysely';
import { asyncCommit } from '../db/async-commit.ts';
import type { Db } from '../db/database.ts';
import type { Lease } from './lease-workers.ts';

// The SQL every leased table shares: its rows carry `claimed_by` and `claim_expires_at`, and a claim
// ends (both null) when its outcome is recorded.

// When a claim made or renewed now lapses.
export function leaseExpiry(lease: Lease): RawBuilder<unknown> {
  return sql`now() + ${lease.ms}::float8 * interval '1 millisecond'`;
}

// Extends the owner's claims on these rows; rows whose claim ended or passed to another are left alone.
export function claimRenewal(table: string): (db: Db, lease: Lease, ids: readonly string[]) => Promise<void> {
  return async (db, lease, ids) => {
    await sql`
      update ${sql.table(table)} set claim_expires_at = ${leaseExpiry(lease)}
      from ${asyncCommit} where id = any(${ids}::text[]) and claimed_by = ${lease.owner}`.execute(db);
  };
}

// Gives back the owner's claims on these rows (work it will not do), for another to take at once.
export function claimRelease(table: string): (db: Db, lease: Lease, ids: readonly string[]) => Promise<void> {
  return async (db, lease, ids) => {
    await sql`
      update ${sql.table(table)} set claimed_by = null, claim_expires_at = null
      from ${asyncCommit} where id = any(${ids}::text[]) and claimed_by = ${lease.owner}`.execute(db);
  };
}
