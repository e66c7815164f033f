import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { ControllerRegistry, EventRecord } from './controllers.ts';
import {
  type ClaimedEvent,
  claimEvents,
  type EventOutcome,
  msUntilNextEventDue,
  recordEventOutcomes,
} from './event-queue.ts';
import { claimRelease, claimRenewal } from './lease-sql.ts';
import { type Lease, LeaseWorkers, retryDelay } from './lease-workers.ts';
import type { Listener } from './listener.ts';

export interface ControllerSettings {
  readonly resyncIntervalMs: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number; // the first retry's delay; each later one doubles, up to maxBackoffMs
  readonly maxBackoffMs: number;
}

export interface ControllerObserver {
  eventHandled(event: EventRecord): void;
  eventRetried(event: EventRecord): void;
  eventFailed(event: EventRecord): void;
}

export interface ControllerManagerDependencies {
  // The pool the claims and records use (a few connections apart from the one requests use).
  readonly db: Db;
  readonly lease: Lease;
  readonly listener: Listener;
  readonly registry: ControllerRegistry;
  readonly settings: ControllerSettings;
  readonly logger: Logger;
  readonly observer: ControllerObserver;
  // Periodic upkeep run on every resync (cleaning expired idempotency keys, say).
  readonly onResync?: () => Promise<void>;
}

// Runs every Kind's controllers on the events table, in every `trex serve` process but those of the api
// role. The table is the truth; NOTIFY only wakes the manager early. It also claims at start-up, after every reconnect of the
// listener, on a resync interval, when a retry falls due and when another replica's claim lapses, so a
// lost notification delays an event by at most one interval and never loses it.
export class ControllerManager {
  private readonly workers: LeaseWorkers<ClaimedEvent, EventOutcome>;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ControllerManagerDependencies) {
    this.workers = new LeaseWorkers(
      {
        claim: (db, lease, limit) => claimEvents(db, lease, limit, deps.registry.claimConditions()),
        record: (db, lease, outcomes) => this.record(db, lease, outcomes),
        renew: claimRenewal('events'),
        release: claimRelease('events'),
        msUntilNextDue: msUntilNextEventDue,
        releasesOthers: (event) => event.followed,
      },
      (event) => this.handle(event),
      {
        db: deps.db,
        lease: deps.lease,
        concurrency: deps.settings.concurrency,
        batchSize: deps.settings.batchSize,
        logger: deps.logger,
        name: 'events',
      },
    );
  }

  start(): void {
    const { listener, settings } = this.deps;
    listener.on('notification', () => this.wake());
    listener.on('connected', () => this.wake()); // notifications may have been missed while disconnected
    listener.start();
    this.resyncTimer = setInterval(() => this.resync(), settings.resyncIntervalMs);
    this.resyncTimer.unref();
    this.workers.start();
  }

  // Stops claiming events, waits for the handlers in flight and records their outcomes; events claimed
  // but not started are given back at once. An event whose handler does not finish stays claimed until
  // its lease lapses, then another replica takes it.
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await Promise.all([this.workers.stop(), this.deps.listener.stop()]);
  }

  wake(): void {
    this.workers.wake();
  }

  private resync(): void {
    this.wake();
    this.deps
      .onResync?.()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'resync upkeep failed'));
  }

  // Runs an event's handlers with no transaction open; a failure becomes a retry or, past the attempt
  // limit, the event's end.
  private async handle(event: ClaimedEvent): Promise<EventOutcome> {
    try {
      await this.deps.registry.run(event, event.conditionsHeld);
      return { event };
    } catch (error) {
      const attempts = event.attempts + 1;
      const { maxAttempts, retryBackoffMs, maxBackoffMs } = this.deps.settings;
      const retryInMs =
        attempts < maxAttempts ? retryDelay(attempts, retryBackoffMs, maxBackoffMs) : undefined;
      this.deps.logger.warn(
        { event: event.id, source: event.source, attempts, err: error, failed: retryInMs === undefined },
        'event handler failed',
      );
      return { event, error: error instanceof Error ? error.message : String(error), retryInMs };
    }
  }

  private async record(db: Db, lease: Lease, outcomes: readonly EventOutcome[]): Promise<void> {
    await recordEventOutcomes(db, lease, outcomes);
    const { observer } = this.deps;
    for (const { event, error, retryInMs } of outcomes) {
      if (error === undefined) observer.eventHandled(event);
      else if (retryInMs === undefined) observer.eventFailed(event);
      else observer.eventRetried(event);
    }
  }
}
