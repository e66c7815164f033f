import { type RawBuilder, type SqlBool, sql } from 'kysely';

// The circuit breaker of webhooks (docs/webhooks.md#a-receiver-that-keeps-failing). A webhook whose last
// attempt succeeded is active, and its deliveries go through the healthy lane. One that failed moves to
// the failing lane, whose workers are its own, so failing receivers only ever wait on each other. After
// `parkAfter` failures in a row it is parked: its deliveries wait, and one is tried per probe interval
// (a ping at once), so a dead receiver costs an attempt a minute rather than one per delivery and retry.
// The first success makes it active again.

/** When the breaker parks a webhook, and how often a parked one is tried. */
export interface BreakerSettings {
  /** Failed attempts in a row that park a webhook. */
  readonly parkAfter: number;
  /** How often a parked webhook is tried, in milliseconds. */
  readonly probeIntervalMs: number;
}

/** A set of workers of the dispatcher, and the webhooks whose deliveries it sends. */
export type Lane = 'healthy' | 'failing';

/** The deliveries a lane claims (d a delivery, w its webhook). */
export function laneCondition(lane: Lane): RawBuilder<SqlBool> {
  return lane === 'healthy'
    ? sql<SqlBool>`w.consecutive_failures = 0`
    : sql<SqlBool>`w.consecutive_failures > 0
        and (w.parked_until is null or w.parked_until <= now() or d.event_type = 'Ping')`;
}

/** What a batch of attempts did to one webhook's run of failures. */
export interface HealthChange {
  readonly webhookId: string;
  /** Some attempt succeeded: the run restarts from the failures after the last success. */
  readonly succeeded: boolean;
  /** Failures after the last success (or all of them, if none succeeded). */
  readonly failures: number;
}

/** Folds attempts, in the order they ended, into each webhook's change. */
export function healthChanges(
  attempts: readonly { readonly webhookId: string; readonly failed: boolean }[],
): HealthChange[] {
  const changes = new Map<string, { succeeded: boolean; failures: number }>();
  for (const { webhookId, failed } of attempts) {
    const change = changes.get(webhookId) ?? { succeeded: false, failures: 0 };
    if (failed) change.failures += 1;
    else Object.assign(change, { succeeded: true, failures: 0 });
    changes.set(webhookId, change);
  }
  return [...changes].map(([webhookId, change]) => ({ webhookId, ...change }));
}
