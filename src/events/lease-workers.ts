import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';

/** Who holds a claim, and how long it lasts unless renewed. The owner is one id per process and queue. */
export interface Lease {
  /** The claim owner, as `claimed_by` shows it (newLeaseOwner). */
  readonly owner: string;
  /** How long a claim lasts unless renewed, in milliseconds. */
  readonly ms: number;
}

/**
 * A claim owner naming this process, so an operator reading `claimed_by` knows which replica holds what
 * (a pod's host name, its pid), and unique even when a host name and pid come back after a restart.
 */
export function newLeaseOwner(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/**
 * A durable queue in a table, worked through leases on its rows: a claim is a row naming its holder and
 * expiry, so nothing depends on a database session outliving a statement, and a dead holder's claims
 * lapse for others to take.
 */
export interface LeaseQueue<Item, Outcome> {
  /** Claims up to `limit` due items in one statement. */
  claim(db: Db, lease: Lease, limit: number): Promise<Item[]>;
  /** Records many outcomes in one statement, ending their claims. */
  record(db: Db, lease: Lease, outcomes: readonly Outcome[]): Promise<void>;
  /** Extends this owner's claims on these items to a lease from now; other claims are left alone. */
  renew(db: Db, lease: Lease, ids: readonly string[]): Promise<void>;
  /** Gives back claims that will not be worked. */
  release(db: Db, lease: Lease, ids: readonly string[]): Promise<void>;
  /**
   * How long until an item becomes due without a new write (a retry, a lapsing claim), in milliseconds;
   * undefined if none will.
   */
  msUntilNextDue(db: Db): Promise<number | undefined>;
  /**
   * Whether recording this item's outcome may make items due that were waiting for it (a later event of
   * the same resource), so a claim must follow the record. Absent: always so. Either way a claim follows
   * when another claim went out while the item was held, which may have passed over such items.
   */
  releasesOthers?(item: Item): boolean;
}

/** How LeaseWorkers works its queue. */
export interface LeaseWorkerSettings {
  /** A pool the claims, renewals and records use; they never wait behind requests. */
  readonly db: Db;
  /** The claims' owner and length. */
  readonly lease: Lease;
  /** Items worked at once. */
  readonly concurrency: number;
  /** Items claimed by one statement, at most. */
  readonly batchSize: number;
  /** Where failures of claims, records and work are logged, as warnings. */
  readonly logger: Logger;
  /** What the queue holds, for logs. */
  readonly name: string;
  /**
   * Items that may be set aside at once (see `work`'s `setAside`); 0 (the default) lets none go.
   * Each set-aside item is still held, renewed and recorded; it just stops taking a worker.
   */
  readonly setAsideLimit?: number;
}

/**
 * Given to `work` with each item: frees the item's worker while the work goes on (a request waiting on a
 * slow receiver), so a slow item does not hold up the items behind it. False, and the worker stays
 * taken, when `setAsideLimit` items are already set aside or this one is.
 */
export type SetAside = () => boolean;

// How long recording waits after a failure before it tries again; the claims are renewed meanwhile.
const recordRetryMs = 1000;
// Least time between two asks of when the next item falls due: a trickle of items, each handled before
// the next arrives, would ask after every one.
const dueCheckGapMs = 50;

/**
 * Works a lease queue with bounded concurrency. One claim statement and one record statement are in
 * flight at a time; a record takes every outcome that piled up while the previous one ran, so batches
 * grow with the load and an idle queue costs nothing. A claim goes out as soon as a worker is free and
 * takes items for the free workers and one more per worker, so the others find items in hand. Claims
 * held here (items waiting, running, or done but not yet recorded) are renewed every third of a lease,
 * so only a process that stopped renewing loses them.
 */
export class LeaseWorkers<Item extends { readonly id: string }, Outcome> {
  private readonly ready: Item[] = [];
  private readonly running = new Set<Promise<void>>();
  private setAsideCount = 0; // running items that no longer take a worker
  // Claims held here, each with the number of the claim that took it.
  private readonly held = new Map<string, number>();
  private claims = 0; // claims gone out so far
  private done: { readonly id: string; readonly outcome: Outcome; readonly releasesOthers: boolean }[] = [];
  private lastDueCheck = 0;
  private claiming: Promise<void> | undefined;
  private recording: Promise<void> | undefined;
  private recordPaused = false;
  private claimWanted = false;
  private stopped = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;

  /**
   * `work` turns an item into the outcome to record; a rejection records nothing, so the claim lapses
   * and the item is worked again, here or elsewhere.
   */
  constructor(
    private readonly queue: LeaseQueue<Item, Outcome>,
    private readonly work: (item: Item, setAside: SetAside) => Promise<Outcome>,
    private readonly settings: LeaseWorkerSettings,
  ) {}

  /** Starts renewing the claims held here, and claims at once. */
  start(): void {
    this.renewTimer = setInterval(() => this.renew(), Math.max(10, this.settings.lease.ms / 3));
    this.renewTimer.unref();
    this.wake();
  }

  /** Something may be due: claim once more. */
  wake(): void {
    if (this.stopped) return;
    this.claimWanted = true;
    this.pump();
  }

  /**
   * Stops claiming, gives back the claimed items not started, waits for the running ones and records
   * their outcomes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.dueTimer);
    await this.claiming;
    const unstarted = this.ready.splice(0).map((item) => item.id);
    await Promise.allSettled([...this.running]);
    await this.recording;
    clearInterval(this.renewTimer); // renewed until here: the handlers may outlast a lease
    const { db, lease } = this.settings;
    if (this.done.length > 0) {
      await this.queue
        .record(
          db,
          lease,
          this.done.map((entry) => entry.outcome),
        )
        .catch((error: unknown) => this.warn(error, 'recording outcomes at shutdown failed'));
    }
    if (unstarted.length > 0) {
      await this.queue
        .release(db, lease, unstarted)
        .catch((error: unknown) => this.warn(error, 'giving back claims at shutdown failed'));
    }
  }

  private pump(): void {
    if (this.stopped) return;
    while (this.busyWorkers() < this.settings.concurrency && this.ready.length > 0) {
      this.run(this.ready.shift() as Item);
    }
    if (this.done.length > 0 && !this.recording && !this.recordPaused) this.record();
    if (this.claimWanted && !this.claiming && this.free() > 0) this.claim();
    else if (this.idle()) this.wakeWhenDue();
  }

  // Workers with nothing to do. Claims go out only for them, so a process whose workers are all busy
  // (slow handlers, hung receivers) claims nothing more.
  private free(): number {
    return this.settings.concurrency - this.busyWorkers() - this.ready.length;
  }

  private busyWorkers(): number {
    return this.running.size - this.setAsideCount;
  }

  private idle(): boolean {
    return (
      !this.claimWanted &&
      !this.claiming &&
      !this.recording &&
      this.busyWorkers() === 0 && // items set aside wait on others, not on this queue
      this.ready.length === 0 &&
      this.done.length === 0
    );
  }

  private claim(): void {
    const { db, lease, batchSize, concurrency } = this.settings;
    // The free workers' items and one more per worker, so the workers still have items in hand when the
    // next claim goes out; the claim after a full one follows at once.
    const limit = Math.min(batchSize, this.free() + concurrency);
    this.claimWanted = false;
    clearTimeout(this.dueTimer);
    const claim = ++this.claims;
    this.claiming = this.queue
      .claim(db, lease, limit)
      .then(
        (items) => {
          for (const item of items) {
            if (this.held.has(item.id)) continue; // reclaimed after our own lease lapsed: already here
            this.held.set(item.id, claim);
            this.ready.push(item);
          }
          if (items.length === limit) this.claimWanted = true;
        },
        (error: unknown) => this.warn(error, 'claiming failed; the next wake or resync retries'),
      )
      .finally(() => {
        this.claiming = undefined;
        this.pump();
      });
  }

  private run(item: Item): void {
    let setAside = false;
    const task = this.work(item, () => {
      if (setAside || this.stopped || this.setAsideCount >= (this.settings.setAsideLimit ?? 0)) return false;
      setAside = true;
      this.setAsideCount += 1;
      this.claimWanted = true; // the freed worker may find an item that is due
      this.pump();
      return true;
    })
      .then(
        (outcome) => {
          this.done.push({ id: item.id, outcome, releasesOthers: this.queue.releasesOthers?.(item) ?? true });
        },
        (error: unknown) => {
          // Unrecorded: the claim lapses and the item is worked again, here or elsewhere.
          this.held.delete(item.id);
          this.warn(error, 'working an item failed unexpectedly');
        },
      )
      .finally(() => {
        this.running.delete(task);
        if (setAside) this.setAsideCount -= 1;
        this.pump();
      });
    this.running.add(task);
  }

  private record(): void {
    const { db, lease } = this.settings;
    const batch = this.done;
    this.done = [];
    this.recording = this.queue
      .record(
        db,
        lease,
        batch.map((entry) => entry.outcome),
      )
      .then(
        () => {
          // Items waiting for these may be due now: those there were when these were claimed, and any a
          // later claim passed over while these were held.
          const mayBeDue = batch.some(
            (entry) => entry.releasesOthers || (this.held.get(entry.id) ?? 0) < this.claims,
          );
          for (const entry of batch) this.held.delete(entry.id);
          if (mayBeDue) this.claimWanted = true;
        },
        (error: unknown) => {
          this.done.unshift(...batch);
          this.recordPaused = true;
          setTimeout(() => {
            this.recordPaused = false;
            this.pump();
          }, recordRetryMs).unref();
          this.warn(error, 'recording outcomes failed; retrying');
        },
      )
      .finally(() => {
        this.recording = undefined;
        this.pump();
      });
  }

  private renew(): void {
    if (this.held.size === 0) return;
    const { db, lease } = this.settings;
    this.queue
      .renew(db, lease, [...this.held.keys()])
      .catch((error: unknown) => this.warn(error, 'renewing claims failed'));
  }

  // Nothing to do: wake when the next retry falls due or another process's claim lapses. Asked at most
  // every dueCheckGapMs; a claim meanwhile (which takes whatever is due) makes the ask needless.
  private wakeWhenDue(): void {
    clearTimeout(this.dueTimer);
    const wait = this.lastDueCheck + dueCheckGapMs - Date.now();
    if (wait > 0) {
      this.dueTimer = setTimeout(() => {
        if (this.idle() && !this.stopped) this.wakeWhenDue();
      }, wait);
      this.dueTimer.unref();
      return;
    }
    this.lastDueCheck = Date.now();
    this.queue.msUntilNextDue(this.settings.db).then(
      (ms) => {
        if (ms === undefined || this.stopped || !this.idle()) return;
        clearTimeout(this.dueTimer);
        this.dueTimer = setTimeout(() => this.wake(), Math.max(0, ms) + 5);
        this.dueTimer.unref();
      },
      () => undefined, // the resync wakes the workers anyway
    );
  }

  private warn(error: unknown, message: string): void {
    this.settings.logger.warn({ err: error, queue: this.settings.name }, message);
  }
}

/**
 * The delay before retry number `attempts` (1-based): doubling from `first`, at most `max`, in the unit
 * of those two (milliseconds, as the callers use it).
 */
export function retryDelay(attempts: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** (attempts - 1));
}
