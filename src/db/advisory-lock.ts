import { createHash } from 'node:crypto';
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Tx } from './database.ts';

// The two int4 keys of an advisory lock, from one stable 64-bit hash of (lock type, id): two separate
// 32-bit hashes would collide far more often.
export function advisoryLockKey(lockType: string, id: string): [number, number] {
  const digest = createHash('sha256').update(lockType).update('\0').update(id).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

export interface LockObserver {
  lockAcquired(lockType: string, waitedSeconds: number): void;
}

// Blocks until this transaction holds the lock for (lockType, id); PostgreSQL releases it at commit
// or rollback, so no code path can leave it behind.
export async function lockForTransaction(
  trx: Tx,
  lockType: string,
  id: string,
  observer: LockObserver,
): Promise<void> {
  const started = performance.now();
  await sql`select ${takeLock(lockType, id)}`.execute(trx);
  observer.lockAcquired(lockType, (performance.now() - started) / 1000);
}

// A condition that holds once the statement's transaction has the lock for (lockType, id), for a write
// that is one statement. PostgreSQL evaluates it once, before the statement reads a row (a one-time
// filter), so the write waits for the lock's holder before it takes a transaction id: writers of one
// row then take transaction ids in the order they commit, which is the order watch streams read them.
// (The call is in a FROM clause: PostgreSQL drops the select list of an EXISTS, so it would not run.)
export function lockedFirst(lockType: string, id: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(select true from ${takeLock(lockType, id)})`;
}

function takeLock(lockType: string, id: string): RawBuilder<unknown> {
  const [high, low] = advisoryLockKey(lockType, id);
  return sql`pg_advisory_xact_lock(${high}::int4, ${low}::int4)`;
}
