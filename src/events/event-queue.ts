import { sql } from 'kysely';
import type { Db, Tx } from '../db/database.ts';
import type { EventRecord } from './controllers.ts';
import type { EventType } from './event-store.ts';

// The SQL of event processing, one statement per function. Events due for processing are unreconciled,
// not failed, and past their next attempt time.

// Claims the oldest due event for this transaction, skipping events other processes hold: replicas
// never wait on each other, and an event is processed by one of them at a time.
export async function claimNextEvent(trx: Tx): Promise<EventRecord | undefined> {
  const { rows } = await sql<{
    id: string;
    source: string;
    source_id: string;
    event_type: EventType;
    attempts: number;
  }>`
    select id, source, source_id, event_type, attempts from events
    where reconciled_date is null and failed_at is null and (next_attempt_at is null or next_attempt_at <= now())
    order by created_at, id
    limit 1
    for update skip locked`.execute(trx);
  const row = rows[0];
  return (
    row && {
      id: row.id,
      source: row.source,
      sourceId: row.source_id,
      eventType: row.event_type,
      attempts: row.attempts,
    }
  );
}

export async function markReconciled(trx: Tx, id: string): Promise<void> {
  await sql`
    update events set reconciled_date = now(), updated_at = now(), attempts = attempts + 1, last_error = null,
      next_attempt_at = null
    where id = ${id}`.execute(trx);
}

// Records a failed attempt: retried after `retryInMs`, or given up (failed_at) when it is undefined.
// Times come from the database's clock, which every replica shares.
export async function markAttemptFailed(
  trx: Tx,
  id: string,
  error: string,
  retryInMs: number | undefined,
): Promise<void> {
  const retryAt = retryInMs === undefined ? null : sql`now() + make_interval(secs => ${retryInMs / 1000})`;
  await sql`
    update events set attempts = attempts + 1, last_error = ${error.slice(0, 2000)}, updated_at = now(),
      next_attempt_at = ${retryAt}, failed_at = ${retryInMs === undefined ? sql`now()` : null}
    where id = ${id}`.execute(trx);
}

// Milliseconds until the next retry falls due, if one is waiting.
export async function msUntilNextRetry(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    select (extract(epoch from min(next_attempt_at) - now()) * 1000)::float8 as ms from events
    where reconciled_date is null and failed_at is null and next_attempt_at > now()`.execute(db);
  return rows[0]?.ms ?? undefined;
}

// Seconds since the oldest event still waiting to be reconciled was written (0 when none waits).
export async function oldestUnreconciledAge(db: Db): Promise<number> {
  const { rows } = await sql<{ age: number | null }>`
    select extract(epoch from now() - min(created_at))::float8 as age from events
    where reconciled_date is null and failed_at is null`.execute(db);
  return rows[0]?.age ?? 0;
}
