import { createHash } from 'node:crypto';
import { sql } from 'kysely';
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
  const [high, low] = advisoryLockKey(lockType, id);
  const started = performance.now();
  await sql`select pg_advisory_xact_lock(${high}::int4, ${low}::int4)`.execute(trx);
  observer.lockAcquired(lockType, (performance.now() - started) / 1000);
}
