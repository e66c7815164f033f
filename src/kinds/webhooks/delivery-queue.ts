import { sql } from 'kysely';
import { asyncCommit } from '../../db/async-commit.ts';
import type { Db } from '../../db/database.ts';
import { prune } from '../../db/prune.ts';
import { leaseExpiry } from '../../events/lease-sql.ts';
import type { Lease } from '../../events/lease-workers.ts';
import { type BreakerSettings, healthChanges, type Lane, laneCondition } from './breaker.ts';
import { webhookKind } from './model.ts';

// The SQL of sending deliveries, one statement per function. A delivery is due when it is pending,
// past its next attempt time (or its webhook is parked: then the probe interval decides, breaker.ts),
// not under a live claim, its webhook is live and enabled, and it heads its
// resource's queue: no earlier delivery of the same resource to the same webhook is pending. Events are
// fanned out in each resource's order (the pipeline hands them out so), so each receiver sees each
// resource's changes in order.

export interface ClaimedDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string | null; // null for a ping
  readonly operationId: string | null;
  readonly attempts: number;
  readonly payload: string;
  readonly url: string;
  readonly secret: string;
  readonly previousSecret: string | null; // during a rollover
}

const dueCondition = sql`
  d.status = 'pending' and (d.next_attempt_at is null or d.next_attempt_at <= now() or w.status = 'parked')
  and (d.claim_expires_at is null or d.claim_expires_at < now())
  and w.deleted_at is null and w.enabled
  and d.event_seq = (
    select earliest.event_seq from webhook_deliveries earliest
    where earliest.webhook_id = d.webhook_id and earliest.source = d.source
      and earliest.source_id = d.source_id and earliest.status = 'pending'
    order by earliest.event_seq limit 1)`;

// How many more deliveries of each webhook a lane may take: `perWebhook`, less those it holds.
export interface WebhookRoom {
  readonly perWebhook: number;
  readonly held: ReadonlyMap<string, number>;
}

// Claims up to `limit` of a lane's due deliveries in due order, in one statement, none of a webhook
// beyond its room. Claiming a parked webhook's delivery (a probe) puts its next probe a probe interval
// away, so replicas do not all probe it at once.
export async function claimDeliveries(
  db: Db,
  lease: Lease,
  limit: number,
  lane: { readonly lane: Lane; readonly room: WebhookRoom; readonly probeIntervalMs: number },
): Promise<ClaimedDelivery[]> {
  const { room } = lane;
  const full = [...room.held].filter(([, held]) => held >= room.perWebhook).map(([id]) => id);
  const busy = [...room.held].filter(([, held]) => held > 0 && held < room.perWebhook);
  const { rows } = await sql<{
    id: string;
    webhook_id: string;
    event_id: string | null;
    operation_id: string | null;
    attempts: number;
    payload: string;
    url: string;
    secret: string;
    previous_secret: string | null;
  }>`
    with candidates as (
      select d.id, d.webhook_id, coalesce(d.next_attempt_at, d.created_at) as due_at
      from webhook_deliveries d join webhooks w on w.id = d.webhook_id
      where ${dueCondition} and ${laneCondition(lane.lane)} and not (d.webhook_id = any(${full}::text[]))
      order by coalesce(d.next_attempt_at, d.created_at), d.id
      limit ${limit}
      for update of d skip locked),
    picked as (
      select c.id, c.webhook_id from (
          select id, webhook_id, row_number() over (partition by webhook_id order by due_at, id) as n
          from candidates) c
        left join unnest(${busy.map(([id]) => id)}::text[], ${busy.map(([, held]) => held)}::int[])
          as b(webhook_id, held) on b.webhook_id = c.webhook_id
      where c.n <= ${room.perWebhook}::int - coalesce(b.held, 0)),
    probed as (
      update webhooks set parked_until = now() + ${lane.probeIntervalMs} * interval '1 millisecond'
      where status = 'parked' and id in (select webhook_id from picked))
    update webhook_deliveries d set claimed_by = ${lease.owner},
      claim_expires_at = ${leaseExpiry(lease)}
    from picked, webhooks w, ${asyncCommit}
    where d.id = picked.id and w.id = d.webhook_id
    returning d.id, d.webhook_id, d.event_id, d.attempts, d.payload, w.url, w.secret, w.previous_secret,
      (select e.operation_id from events e where e.id = d.event_id) as operation_id`.execute(db);
  return rows.map((row) => ({
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    operationId: row.operation_id,
    attempts: row.attempts,
    payload: row.payload,
    url: row.url,
    secret: row.secret,
    previousSecret: row.previous_secret,
  }));
}

// What one attempt came to: delivered (error undefined), or failed and retried after `retryInMs`, or
// given up (retryInMs undefined).
export interface DeliveryAttempt {
  readonly delivery: ClaimedDelivery;
  readonly responseCode?: number;
  readonly error?: string;
  readonly retryInMs?: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly responseExcerpt?: string; // the start of the receiver's answer, if it answered
}

// How much of a receiver's answer a delivery keeps, to say why it failed.
export const responseExcerptChars = 1024;

// Records many attempts in one statement, ending their claims, with what they did to their webhooks'
// health. A webhook that stays active has its last success written once a minute at most, not on every
// delivery: a busy webhook's row is not rewritten all the time (each write changes its ETag). A webhook
// that recovers has its waiting deliveries made due at once, rather than at the end of their backoff.
export async function recordDeliveryAttempts(
  db: Db,
  lease: Lease,
  attempts: readonly DeliveryAttempt[],
  breaker: BreakerSettings,
): Promise<void> {
  const ids = attempts.map((attempt) => attempt.delivery.id);
  const codes = attempts.map((attempt) => attempt.responseCode ?? null);
  const errors = attempts.map((attempt) => attempt.error?.slice(0, 2000) ?? null);
  const retries = attempts.map((attempt) => attempt.retryInMs ?? null);
  const startedAt = attempts.map((attempt) => attempt.startedAt.toISOString());
  const durations = attempts.map((attempt) => Math.round(attempt.durationMs));
  const excerpts = attempts.map((attempt) => attempt.responseExcerpt?.slice(0, responseExcerptChars) ?? null);
  const health = healthChanges(
    attempts.map((attempt) => ({
      webhookId: attempt.delivery.webhookId,
      failed: attempt.error !== undefined,
    })),
  );
  const { rows: recovered } = await sql<{ id: string }>`
    with recorded as (
      update webhook_deliveries d set attempts = d.attempts + 1, response_code = a.code, last_error = a.error,
        last_attempt_at = a.started_at, last_duration_ms = a.duration_ms, response_excerpt = a.excerpt,
        status = case when a.error is null then 'delivered' when a.retry_ms is null then 'failed' else 'pending' end,
        delivered_at = case when a.error is null then now() end,
        next_attempt_at = case when a.error is not null and a.retry_ms is not null
          then now() + a.retry_ms * interval '1 millisecond' end,
        updated_at = now(), claimed_by = null, claim_expires_at = null
      from unnest(${ids}::text[], ${codes}::int[], ${errors}::text[], ${retries}::float8[],
          ${startedAt}::timestamptz[], ${durations}::int[], ${excerpts}::text[])
        as a(id, code, error, retry_ms, started_at, duration_ms, excerpt), ${asyncCommit}
      where d.id = a.id and d.claimed_by = ${lease.owner}),
    health as (
      update webhooks w set consecutive_failures = n.failures_now,
        status = case when n.failures_now = 0 then 'active'
          when n.failures_now >= ${breaker.parkAfter}::int then 'parked' else 'failing' end,
        parked_until = case when n.failures_now >= ${breaker.parkAfter}::int
          then now() + ${breaker.probeIntervalMs} * interval '1 millisecond' end,
        last_success_at = case when n.succeeded then now() else w.last_success_at end,
        last_failure_at = case when n.failures > 0 then now() else w.last_failure_at end
      from (
        select h.id, h.succeeded, h.failures, c.consecutive_failures > 0 as was_failing,
          case when h.succeeded then h.failures else c.consecutive_failures + h.failures end as failures_now
        from unnest(${health.map((change) => change.webhookId)}::text[],
            ${health.map((change) => change.succeeded)}::bool[], ${health.map((change) => change.failures)}::int[])
          as h(id, succeeded, failures)
          join webhooks c on c.id = h.id) n
      where w.id = n.id and (n.failures > 0 or n.was_failing or w.last_success_at is null
        or w.last_success_at < now() - interval '1 minute')
      returning w.id, n.was_failing and n.failures_now = 0 as recovered)
    select id from health where recovered`.execute(db);
  if (recovered.length > 0) {
    await sql`
      update webhook_deliveries set next_attempt_at = null, updated_at = now()
      where webhook_id = any(${recovered.map((row) => row.id)}::text[]) and status = 'pending'
        and next_attempt_at > now()`.execute(db);
  }
}

// Milliseconds until a pending delivery next becomes claimable without a new write: a retry falling
// due, a claim lapsing, or a parked webhook's next probe; undefined when none waits so.
export async function msUntilNextDeliveryDue(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    with waiting as (
      select next_attempt_at, claim_expires_at from webhook_deliveries
      where status = 'pending' and (next_attempt_at > now() or claim_expires_at > now()))
    select (extract(epoch from least(
        (select min(next_attempt_at) filter (where next_attempt_at > now()) from waiting),
        (select min(claim_expires_at) filter (where claim_expires_at > now()) from waiting),
        (select min(parked_until) from webhooks where parked_until > now() and deleted_at is null))
      - now()) * 1000)::float8 as ms
    from (select 1) one`.execute(db);
  return rows[0]?.ms ?? undefined;
}

// Cancels a webhook's pending deliveries (it was disabled or deleted): they are never sent, and say so.
export async function cancelPendingDeliveries(db: Db, webhookId: string): Promise<number> {
  const result = await sql`
    update webhook_deliveries set status = 'cancelled', next_attempt_at = null, updated_at = now(),
      claimed_by = null, claim_expires_at = null
    where webhook_id = ${webhookId} and status = 'pending'`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * A new delivery of what an earlier one sent (a receiver lost it, or it was given up), due at once.
 * Undefined when the original is not among `webhookId`'s deliveries.
 */
export async function redeliver(
  db: Db,
  webhookId: string,
  originalId: string,
  newId: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    insert into webhook_deliveries
      (id, webhook_id, event_id, event_seq, source, source_id, event_type, payload, redelivery_of)
    select ${newId}, webhook_id, event_id, event_seq, source, source_id, event_type, payload, id
    from webhook_deliveries where id = ${originalId} and webhook_id = ${webhookId}
    returning id`.execute(db);
  return rows[0]?.id;
}

/** A test message to a webhook, of no event, due at once, before anything else of the webhook's own queue. */
export async function ping(
  db: Db,
  delivery: { readonly id: string; readonly webhookId: string; readonly payload: string },
): Promise<void> {
  await sql`
    insert into webhook_deliveries (id, webhook_id, event_seq, source, source_id, event_type, payload)
    values (${delivery.id}, ${delivery.webhookId}, 0, ${webhookKind.eventSource}, ${delivery.webhookId},
      'Ping', ${delivery.payload})`.execute(db);
}

/**
 * Deletes deliveries finished (delivered, given up or cancelled) longer ago than `retentionMs`, but one
 * a later redelivery names, in batches, on one replica at a time (db/prune.ts). Their events may then go
 * too (events/retention.ts).
 */
export async function pruneDeliveries(db: Db, retentionMs: number, budgetMs: number): Promise<number> {
  return await prune(db, {
    name: 'webhook deliveries',
    batchSize: 1000,
    budgetMs,
    batch: (limit) => sql`
      delete from webhook_deliveries where id in (
        select d.id from webhook_deliveries d
        where d.status <> 'pending' and d.updated_at < now() - ${retentionMs} * interval '1 millisecond'
          and not exists (select 1 from webhook_deliveries r where r.redelivery_of = d.id)
        order by d.updated_at limit ${limit} for update skip locked)
      returning 1`,
  });
}
