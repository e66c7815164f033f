import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { ClaimWorkers, retryDelay } from './claim-workers.ts';
import type { ControllerRegistry, EventRecord } from './controllers.ts';
import {
  dueEvents,
  markAttemptFailed,
  markReconciled,
  msUntilNextRetry,
  releaseEvent,
  stillDue,
  tryClaimEvent,
} from './event-queue.ts';
import type { Listener } from './listener.ts';

export interface ControllerSettings {
  readonly resyncIntervalMs: number;
  readonly concurrency: number;
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
  // The manager's own pool (concurrency connections or more), apart from the one requests use.
  readonly db: Db;
  readonly listener: Listener;
  readonly registry: ControllerRegistry;
  readonly settings: ControllerSettings;
  readonly logger: Logger;
  readonly observer: ControllerObserver;
  // Periodic upkeep run on every resync (cleaning expired idempotency keys, say).
  readonly onResync?: () => Promise<void>;
}

// Runs every Kind's controllers on the events table, in every `trex serve` process. The table is the
// truth; NOTIFY only wakes the manager early. It also drains at start-up, after every reconnect of the
// listener, on a resync interval, and when a retry falls due, so a lost notification delays an event
// by at most one interval and never loses it.
export class ControllerManager {
  private readonly workers: ClaimWorkers<EventRecord>;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ControllerManagerDependencies) {
    this.workers = new ClaimWorkers(
      { due: dueEvents, take: (connection, event) => this.take(connection, event), msUntilNextRetry },
      {
        db: deps.db,
        concurrency: deps.settings.concurrency,
        logger: deps.logger,
        failureMessage: 'processing events failed; the next resync retries',
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
    this.wake();
  }

  // Stops claiming events and waits for the handlers in flight; an event whose handler does not finish
  // stays unreconciled and is picked up again by a resync here or in another replica.
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.deps.listener.stop();
    await this.workers.stop();
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

  // Claims one event and, if it is still due, runs its handlers with no transaction open.
  private async take(connection: Db, candidate: EventRecord): Promise<boolean> {
    if (!(await tryClaimEvent(connection, candidate.id))) return false;
    try {
      const event = await stillDue(connection, candidate.id);
      if (!event) return false;
      await this.process(connection, event);
      return true;
    } finally {
      await releaseEvent(connection, candidate.id);
    }
  }

  private async process(db: Db, event: EventRecord): Promise<void> {
    try {
      for (const handler of this.deps.registry.handlersFor(event)) await handler(event);
    } catch (error) {
      const attempts = event.attempts + 1;
      const { maxAttempts, retryBackoffMs, maxBackoffMs } = this.deps.settings;
      const retryInMs =
        attempts < maxAttempts ? retryDelay(attempts, retryBackoffMs, maxBackoffMs) : undefined;
      await markAttemptFailed(
        db,
        event.id,
        error instanceof Error ? error.message : String(error),
        retryInMs,
      );
      if (retryInMs === undefined) this.deps.observer.eventFailed(event);
      else this.deps.observer.eventRetried(event);
      const failed = retryInMs === undefined;
      this.deps.logger.warn(
        { event: event.id, source: event.source, attempts, err: error, failed },
        'event handler failed',
      );
      return;
    }
    await markReconciled(db, event.id);
    this.deps.observer.eventHandled(event);
  }
}
