import { sql } from 'kysely';
import { advisoryLockKey } from '../db/advisory-lock.ts';
import type { Db } from '../db/database.ts';
import type { EventRecord } from './controllers.ts';
import type { EventType } from './event-store.ts';

// The SQL of event processing, one statement per function. Events due for processing are unreconciled,
// not failed, and past their next attempt time.

const dueCondition = sql`reconciled_date is null and failed_at is null and (next_attempt_at is null or next_attempt_at <= now())`;

type EventColumns = {
  id: string;
  source: string;
  source_id: string;
  event_type: EventType;
  attempts: number;
};

function toRecord(row: EventColumns): EventRecord {
  return {
    id: row.id,
    source: row.source,
    sourceId: row.source_id,
    eventType: row.event_type,
    attempts: row.attempts,
  };
}

// A page of the events due for processing, in the order they fell due (a retry takes its turn at its
// retry time, behind events written before it, so failing events cannot starve new ones), after `after` (the last event of the previous page).
// Candidates only: another process may be handling one.
export async function dueEvents(db: Db, limit: number, after?: EventRecord): Promise<EventRecord[]> {
  const next = after
    ? sql`and (coalesce(next_attempt_at, created_at), id) >
        (select coalesce(next_attempt_at, created_at), id from events where id = ${after.id})`
    : sql``;
  const { rows } = await sql<EventColumns>`
    select id, source, source_id, event_type, attempts from events where ${dueCondition} ${next}
    order by coalesce(next_attempt_at, created_at), id limit ${limit}`.execute(db);
  return rows.map(toRecord);
}

// Claims an event for as long as this session holds the lock, without waiting: a replica that crashes
// loses its connection and with it the claim, so another replica takes the event over at once.
// `db` must be one pinned connection (Kysely's `connection()`), since the lock belongs to the session.
export async function tryClaimEvent(db: Db, id: string): Promise<boolean> {
  const [high, low] = advisoryLockKey('events', id);
  const { rows } = await sql<{
    claimed: boolean;
  }>`select pg_try_advisory_lock(${high}::int4, ${low}::int4) as claimed`.execute(db);
  return rows[0]?.claimed === true;
}

export async function releaseEvent(db: Db, id: string): Promise<void> {
  const [high, low] = advisoryLockKey('events', id);
  await sql`select pg_advisory_unlock(${high}::int4, ${low}::int4)`.execute(db);
}

// The event as it is now, if it is still due: between listing candidates and claiming one, another
// replica may have finished it.
export async function stillDue(db: Db, id: string): Promise<EventRecord | undefined> {
  const { rows } = await sql<EventColumns>`
    select id, source, source_id, event_type, attempts from events where id = ${id} and ${dueCondition}`.execute(
    db,
  );
  return rows[0] && toRecord(rows[0]);
}

export async function markReconciled(db: Db, id: string): Promise<void> {
  await sql`
    update events set reconciled_date = now(), updated_at = now(), attempts = attempts + 1, last_error = null,
      next_attempt_at = null
    where id = ${id}`.execute(db);
}

// Records a failed attempt: retried after `retryInMs`, or given up (failed_at) when it is undefined.
// Times come from the database's clock, which every replica shares.
export async function markAttemptFailed(
  db: Db,
  id: string,
  error: string,
  retryInMs: number | undefined,
): Promise<void> {
  const retryAt = retryInMs === undefined ? null : sql`now() + make_interval(secs => ${retryInMs / 1000})`;
  await sql`
    update events set attempts = attempts + 1, last_error = ${error.slice(0, 2000)}, updated_at = now(),
      next_attempt_at = ${retryAt}, failed_at = ${retryInMs === undefined ? sql`now()` : null}
    where id = ${id}`.execute(db);
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
