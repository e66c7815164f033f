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

// How many due items are listed at a time; the workers of all replicas race over them.
const candidatesPerLook = 20;

// Workers, up to a concurrency limit, that drain a claim queue. They share one listing of due items and
// each of its items goes to one worker, so the workers of a process never race each other for an item
// (a lost race costs a round trip), only those of other replicas. Items other replicas hold are
// skipped, so a free worker is never stuck behind a page of busy ones. A wake while they run makes them
// look once more before they stop, so no wake-up is lost between the last look and the exit. When the
// queue is drained, they wake again when the earliest retry falls due.
export class ClaimWorkers<Candidate extends { readonly id: string }> {
  private running = 0;
  private wakeRequested = false;
  private stopped = false;
  private readonly workers = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  // The current listing: its items not yet handed to a worker, its last item, whether it was full, and
  // whether any of its items was worked.
  private listed: Candidate[] = [];
  private lastListed: Candidate | undefined;
  private lastListingFull = false;
  private workedSinceListing = false;
  private listing: Promise<void> | undefined; // the listing under way, which the other workers wait for
  private readonly inHand = new Set<string>(); // ids being taken by this process's workers

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
        for (;;) {
          const candidate = await this.next(connection);
          if (!candidate) return;
          this.inHand.add(candidate.id);
          try {
            if (await this.queue.take(connection, candidate)) this.workedSinceListing = true;
          } finally {
            this.inHand.delete(candidate.id);
          }
        }
      });
    } catch (error) {
      this.settings.logger.warn({ err: error }, this.settings.failureMessage);
    }
  }

  // The next item for a worker, listing more when the listing is used up; undefined when the drain is
  // over. Items another worker here has in hand (listed again while it works on them) are passed over.
  private async next(connection: Db): Promise<Candidate | undefined> {
    while (!this.stopped) {
      const candidate = this.listed.shift();
      if (candidate) {
        if (!this.inHand.has(candidate.id)) return candidate;
        continue;
      }
      this.listing ??= this.listMore(connection).finally(() => {
        this.listing = undefined;
      });
      await this.listing;
      if (this.listed.length === 0) return undefined;
    }
    return undefined;
  }

  // After any item of the last listing was worked, lists again from the oldest; past a full listing of
  // items others hold, pages forward; after a wake, looks once more from the oldest; else lists nothing.
  private async listMore(connection: Db): Promise<void> {
    const pageForward = !this.workedSinceListing && this.lastListingFull;
    if (!this.workedSinceListing && !pageForward && !this.wakeRequested) return;
    const after = pageForward ? this.lastListed : undefined;
    if (!after) this.wakeRequested = false;
    this.workedSinceListing = false;
    const candidates = await this.queue.due(connection, candidatesPerLook, after);
    this.lastListingFull = candidates.length === candidatesPerLook;
    this.lastListed = candidates.at(-1);
    this.listed = candidates;
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
