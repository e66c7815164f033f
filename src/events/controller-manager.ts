import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
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

// How many due events a worker lists at a time; the workers of all replicas race over them.
const candidatesPerLook = 20;

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
  private running = 0; // workers draining the queue
  private wakeRequested = false;
  private stopped = false;
  private readonly workers = new Set<Promise<void>>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ControllerManagerDependencies) {}

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
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    await this.deps.listener.stop();
    await Promise.allSettled([...this.workers]);
  }

  // Starts workers, up to the concurrency limit, that drain due events. A wake while they run makes
  // them look once more before they stop, so no wake-up is lost between a worker's last look and its exit.
  wake(): void {
    if (this.stopped) return;
    this.wakeRequested = true;
    while (this.running < this.deps.settings.concurrency) {
      this.running++;
      const worker = this.drain().finally(() => {
        this.running--;
        this.workers.delete(worker);
        if (this.running === 0) void this.scheduleRetry();
      });
      this.workers.add(worker);
    }
  }

  private resync(): void {
    this.wake();
    this.deps
      .onResync?.()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'resync upkeep failed'));
  }

  // One worker: a pinned connection (the claims are session locks) that claims and handles due events
  // until none is left and no wake-up came in meanwhile. Handlers run with no transaction open.
  private async drain(): Promise<void> {
    try {
      await this.deps.db.connection().execute(async (connection) => {
        // Pages through due events; events other workers hold are skipped, so a free worker is never
        // stuck behind a page of busy ones. After handling any, it starts again from the oldest.
        let after: EventRecord | undefined;
        while (!this.stopped) {
          if (!after) this.wakeRequested = false;
          const candidates = await dueEvents(connection, candidatesPerLook, after);
          let processed = false;
          for (const candidate of candidates) {
            if (this.stopped) break;
            if (!(await tryClaimEvent(connection, candidate.id))) continue;
            try {
              const event = await stillDue(connection, candidate.id);
              if (event) {
                await this.process(connection, event);
                processed = true;
              }
            } finally {
              await releaseEvent(connection, candidate.id);
            }
          }
          if (processed) after = undefined;
          else if (candidates.length === candidatesPerLook) after = candidates.at(-1);
          else if (this.wakeRequested) after = undefined;
          else return;
        }
      });
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'processing events failed; the next resync retries');
    }
  }

  private async process(db: Db, event: EventRecord): Promise<void> {
    try {
      for (const handler of this.deps.registry.handlersFor(event)) await handler(event);
    } catch (error) {
      const attempts = event.attempts + 1;
      const retryInMs = attempts < this.deps.settings.maxAttempts ? this.backoff(attempts) : undefined;
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

  private backoff(attempts: number): number {
    const { retryBackoffMs, maxBackoffMs } = this.deps.settings;
    return Math.min(maxBackoffMs, retryBackoffMs * 2 ** (attempts - 1));
  }

  // When the queue is drained, wakes up again when the earliest retry falls due.
  private async scheduleRetry(): Promise<void> {
    if (this.stopped) return;
    const ms = await msUntilNextRetry(this.deps.db).catch(() => undefined);
    if (ms === undefined || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wake(), Math.max(0, ms) + 5);
    this.retryTimer.unref();
  }
}
