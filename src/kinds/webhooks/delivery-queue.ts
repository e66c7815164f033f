import { sql } from 'kysely';
import { advisoryLockKey } from '../../db/advisory-lock.ts';
import type { Db } from '../../db/database.ts';

// The SQL of sending deliveries, one statement per function. A delivery is due when it is pending,
// past its next attempt time, its webhook is live and enabled, and it heads its resource's queue: no
// earlier delivery of the same resource to the same webhook is pending, and no earlier event of the
// resource is still waiting to be fanned out. So each receiver sees each resource's changes in order.

export interface DueDelivery {
  readonly id: string;
  readonly webhookId: string;
}

export interface ClaimedDelivery extends DueDelivery {
  readonly eventId: string;
  readonly operationId: string | null;
  readonly attempts: number;
  readonly payload: string;
  readonly url: string;
  readonly secret: string;
}

const dueCondition = sql`
  d.status = 'pending' and (d.next_attempt_at is null or d.next_attempt_at <= now())
  and w.deleted_at is null and w.enabled
  and not exists (
    select 1 from webhook_deliveries earlier
    where earlier.webhook_id = d.webhook_id and earlier.source = d.source and earlier.source_id = d.source_id
      and earlier.status = 'pending' and earlier.event_seq < d.event_seq)
  and not exists (
    select 1 from events e
    where e.source = d.source and e.source_id = d.source_id and e.seq < d.event_seq
      and e.reconciled_date is null and e.failed_at is null
      and not exists (select 1 from webhook_fanouts f where f.event_id = e.id))`;

// A page of due deliveries in the order they fell due, after `after` (the last of the previous page).
// Candidates only: another process may be sending one.
export async function dueDeliveries(db: Db, limit: number, after?: DueDelivery): Promise<DueDelivery[]> {
  const next = after
    ? sql`and (coalesce(d.next_attempt_at, d.created_at), d.id) >
        (select coalesce(next_attempt_at, created_at), id from webhook_deliveries where id = ${after.id})`
    : sql``;
  const { rows } = await sql<{ id: string; webhook_id: string }>`
    select d.id, d.webhook_id from webhook_deliveries d join webhooks w on w.id = d.webhook_id
    where ${dueCondition} ${next}
    order by coalesce(d.next_attempt_at, d.created_at), d.id limit ${limit}`.execute(db);
  return rows.map((row) => ({ id: row.id, webhookId: row.webhook_id }));
}

// Claims a delivery for as long as this session holds the lock, without waiting; `db` must be one
// pinned connection. A crashed sender's connection, and with it the claim, goes away.
export async function tryClaimDelivery(db: Db, id: string): Promise<boolean> {
  const [high, low] = advisoryLockKey('webhook_deliveries', id);
  const { rows } = await sql<{ claimed: boolean }>`
    select pg_try_advisory_lock(${high}::int4, ${low}::int4) as claimed`.execute(db);
  return rows[0]?.claimed === true;
}

export async function releaseDelivery(db: Db, id: string): Promise<void> {
  const [high, low] = advisoryLockKey('webhook_deliveries', id);
  await sql`select pg_advisory_unlock(${high}::int4, ${low}::int4)`.execute(db);
}

// The delivery with what sending it needs, if it is still due once claimed.
export async function stillDueDelivery(db: Db, id: string): Promise<ClaimedDelivery | undefined> {
  const { rows } = await sql<{
    id: string;
    webhook_id: string;
    event_id: string;
    operation_id: string | null;
    attempts: number;
    payload: string;
    url: string;
    secret: string;
  }>`
    select d.id, d.webhook_id, d.event_id, e.operation_id, d.attempts, d.payload, w.url, w.secret
    from webhook_deliveries d join webhooks w on w.id = d.webhook_id join events e on e.id = d.event_id
    where d.id = ${id} and ${dueCondition}`.execute(db);
  const row = rows[0];
  return (
    row && {
      id: row.id,
      webhookId: row.webhook_id,
      eventId: row.event_id,
      operationId: row.operation_id,
      attempts: row.attempts,
      payload: row.payload,
      url: row.url,
      secret: row.secret,
    }
  );
}

export async function markDelivered(db: Db, id: string, responseCode: number): Promise<void> {
  await sql`
    update webhook_deliveries set status = 'delivered', attempts = attempts + 1, response_code = ${responseCode},
      last_error = null, next_attempt_at = null, delivered_at = now(), updated_at = now()
    where id = ${id}`.execute(db);
}

// Records a failed attempt: retried after `retryInMs`, or given up (status failed) when undefined.
export async function markDeliveryFailed(
  db: Db,
  id: string,
  failure: { error: string; responseCode: number | undefined },
  retryInMs: number | undefined,
): Promise<void> {
  const retryAt = retryInMs === undefined ? null : sql`now() + make_interval(secs => ${retryInMs / 1000})`;
  await sql`
    update webhook_deliveries set attempts = attempts + 1, response_code = ${failure.responseCode ?? null},
      last_error = ${failure.error.slice(0, 2000)}, next_attempt_at = ${retryAt},
      status = ${retryInMs === undefined ? 'failed' : 'pending'}, updated_at = now()
    where id = ${id}`.execute(db);
}

// Milliseconds until the next retry falls due, if one is waiting.
export async function msUntilNextDeliveryRetry(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    select (extract(epoch from min(next_attempt_at) - now()) * 1000)::float8 as ms from webhook_deliveries
    where status = 'pending' and next_attempt_at > now()`.execute(db);
  return rows[0]?.ms ?? undefined;
}
