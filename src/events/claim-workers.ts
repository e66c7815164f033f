import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';

// A durable queue in a table, worked by claiming: due items are listed, and each is taken only by the
// worker whose non-blocking session lock on it succeeds, in this process or any replica.
export interface ClaimQueue<Candidate> {
  // Up to `limit` due items in due order, after `after` when given.
  due(connection: Db, limit: number, after: Candidate | undefined): Promise<Candidate[]>;
  // Claims and works one candidate; true when it did work, false when another holds it or it is done.
  take(connection: Db, candidate: Candidate): Promise<boolean>;
  // How long until the earliest retry falls due, if any waits.
  msUntilNextRetry(db: Db): Promise<number | undefined>;
}

export interface ClaimWorkerSettings {
  readonly db: Db; // its own pool: each worker pins a connection (the claims are session locks)
  readonly concurrency: number;
  readonly logger: Logger;
  readonly failureMessage: string; // logged when a worker's connection fails
}

// How many due items a worker lists at a time; the workers of all replicas race over them.
const candidatesPerLook = 20;

// Workers, up to a concurrency limit, that drain a claim queue. Items other workers hold are skipped,
// so a free worker is never stuck behind a page of busy ones; after working any, a worker starts again
// from the oldest. A wake while they run makes them look once more before they stop, so no wake-up is
// lost between a worker's last look and its exit. When the queue is drained, they wake again when the
// earliest retry falls due.
export class ClaimWorkers<Candidate> {
  private running = 0;
  private wakeRequested = false;
  private stopped = false;
  private readonly workers = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: ClaimQueue<Candidate>,
    private readonly settings: ClaimWorkerSettings,
  ) {}

  wake(): void {
    if (this.stopped) return;
    this.wakeRequested = true;
    while (this.running < this.settings.concurrency) {
      this.running++;
      const worker = this.drain().finally(() => {
        this.running--;
        this.workers.delete(worker);
        if (this.running === 0) void this.scheduleRetry();
      });
      this.workers.add(worker);
    }
  }

  // Stops taking items and waits for the ones in hand.
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.workers]);
  }

  private async drain(): Promise<void> {
    try {
      await this.settings.db.connection().execute(async (connection) => {
        let after: Candidate | undefined;
        while (!this.stopped) {
          if (!after) this.wakeRequested = false;
          const candidates = await this.queue.due(connection, candidatesPerLook, after);
          let worked = false;
          for (const candidate of candidates) {
            if (this.stopped) break;
            if (await this.queue.take(connection, candidate)) worked = true;
          }
          if (worked) after = undefined;
          else if (candidates.length === candidatesPerLook) after = candidates.at(-1);
          else if (this.wakeRequested) after = undefined;
          else return;
        }
      });
    } catch (error) {
      this.settings.logger.warn({ err: error }, this.settings.failureMessage);
    }
  }

  private async scheduleRetry(): Promise<void> {
    if (this.stopped) return;
    const ms = await this.queue.msUntilNextRetry(this.settings.db).catch(() => undefined);
    if (ms === undefined || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wake(), Math.max(0, ms) + 5);
    this.retryTimer.unref();
  }
}

// The delay before retry number `attempts` (1-based): doubling from `first`, at most `max`.
export function retryDelay(attempts: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** (attempts - 1));
}
