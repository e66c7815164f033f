import { sql } from 'kysely';
import { asyncCommit } from '../db/async-commit.ts';
import type { Db } from '../db/database.ts';
import type { EventCondition, EventRecord } from './controllers.ts';
import type { EventType } from './event-store.ts';
import { leaseExpiry } from './lease-sql.ts';
import type { Lease } from './lease-workers.ts';

// The SQL of event processing, one statement per function. An event is unfinished until it is
// reconciled or given up (failed_at); it is due when unfinished, past its next attempt time, not held
// under a live claim, and no earlier event of its resource is unfinished, so each resource's events are
// handled one at a time, in the order they were written.

type EventColumns = {
  id: string;
  source: string;
  source_id: string;
  event_type: EventType;
  attempts: number;
  followed: boolean;
  conditions_held: boolean[] | null;
};

/**
 * A claimed event; whether a later event of its resource was waiting for it when it was claimed; and
 * what the claim found for each condition it was given.
 */
export interface ClaimedEvent extends EventRecord {
  readonly followed: boolean;
  readonly conditionsHeld: readonly boolean[];
}

function toClaimed(row: EventColumns): ClaimedEvent {
  return {
    id: row.id,
    source: row.source,
    sourceId: row.source_id,
    eventType: row.event_type,
    attempts: row.attempts,
    followed: row.followed,
    conditionsHeld: row.conditions_held ?? [],
  };
}

// Claims up to `limit` due events for `lease.owner` until the lease expires, in one statement, in the
// order they fell due (a retry takes its turn at its retry time, so failing events cannot starve new
// ones). Rows another claimer is taking at this moment are skipped, never waited for. An event heads its
// resource when it is the resource's earliest unfinished one: asked as "the first by seq" (an index
// probe whatever the statistics say) rather than "no earlier one exists", which PostgreSQL planned as a
// scan of every unfinished event per candidate while a burst was newer than its statistics (100 ms
// against 0.5 ms for a claim of 16 among 20,000 waiting). Each claimed event says whether a later one of
// its resource waits behind it, which its outcome's record will make due, and whether each of
// `conditions` holds for it.
export async function claimEvents(
  db: Db,
  lease: Lease,
  limit: number,
  conditions: readonly EventCondition[] = [],
): Promise<ClaimedEvent[]> {
  const conditionsHeld =
    conditions.length === 0 ? sql`null` : sql`array[${sql.join(conditions.map((test) => sql`(${test})`))}]`;
  const { rows } = await sql<EventColumns>`
    with due as (
      select e.id from events e
      where e.reconciled_date is null and e.failed_at is null
        and (e.next_attempt_at is null or e.next_attempt_at <= now())
        and (e.claim_expires_at is null or e.claim_expires_at < now())
        and e.seq = (
          select earliest.seq from events earliest
          where earliest.source = e.source and earliest.source_id = e.source_id
            and earliest.reconciled_date is null and earliest.failed_at is null
          order by earliest.seq limit 1)
      order by coalesce(e.next_attempt_at, e.created_at), e.id
      limit ${limit}
      for update skip locked)
    update events e set claimed_by = ${lease.owner},
      claim_expires_at = ${leaseExpiry(lease)}
    from due, ${asyncCommit} where e.id = due.id
    returning e.id, e.source, e.source_id, e.event_type, e.attempts,
      exists (
        select 1 from events later
        where later.source = e.source and later.source_id = e.source_id and later.seq > e.seq
          and later.reconciled_date is null and later.failed_at is null) as followed,
      ${conditionsHeld} as conditions_held`.execute(db);
  return rows.map(toClaimed);
}

// What handling an event came to: done (error undefined), or a failure retried after `retryInMs` or
// given up (retryInMs undefined).
export interface EventOutcome {
  readonly event: EventRecord;
  readonly error?: string;
  readonly retryInMs?: number;
}

// Records many outcomes in one statement, and ends their claims. An event whose claim has passed to
// another replica meanwhile (this one's lease lapsed) is left to that replica. Times come from the
// database's clock, which every replica shares. Like every statement of the pipeline's own, it commits
// asynchronously: a PostgreSQL crash may forget the last fraction of a second of outcomes, whose
// events are then handled again.
export async function recordEventOutcomes(
  db: Db,
  lease: Lease,
  outcomes: readonly EventOutcome[],
): Promise<void> {
  const ids = outcomes.map((outcome) => outcome.event.id);
  const errors = outcomes.map((outcome) => outcome.error?.slice(0, 2000) ?? null);
  const retries = outcomes.map((outcome) => outcome.retryInMs ?? null);
  await sql`
    update events e set attempts = e.attempts + 1, updated_at = now(), last_error = o.error,
      reconciled_date = case when o.error is null then now() end,
      next_attempt_at = case when o.error is not null and o.retry_ms is not null
        then now() + o.retry_ms * interval '1 millisecond' end,
      failed_at = case when o.error is not null and o.retry_ms is null then now() end,
      claimed_by = null, claim_expires_at = null
    from unnest(${ids}::text[], ${errors}::text[], ${retries}::float8[]) as o(id, error, retry_ms),
      ${asyncCommit}
    where e.id = o.id and e.claimed_by = ${lease.owner}`.execute(db);
}

// Milliseconds until an unfinished event next becomes claimable without a new write: a retry falling
// due, or a claim lapsing (its holder died); undefined when none waits so.
export async function msUntilNextEventDue(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    select (extract(epoch from least(
        min(next_attempt_at) filter (where next_attempt_at > now()),
        min(claim_expires_at) filter (where claim_expires_at > now())) - now()) * 1000)::float8 as ms
    from events
    where reconciled_date is null and failed_at is null
      and (next_attempt_at > now() or claim_expires_at > now())`.execute(db);
  return rows[0]?.ms ?? undefined;
}

// Seconds since the oldest event still waiting to be reconciled was written (0 when none waits).
export async function oldestUnreconciledAge(db: Db): Promise<number> {
  const { rows } = await sql<{ age: number | null }>`
    select extract(epoch from now() - min(created_at))::float8 as age from events
    where reconciled_date is null and failed_at is null`.execute(db);
  return rows[0]?.age ?? 0;
}
