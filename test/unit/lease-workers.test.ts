import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { type Lease, type LeaseQueue, LeaseWorkers } from '../../src/events/lease-workers.ts';

// The working loop alone, over a queue in memory: how much it claims, how it records, what it renews
// and gives back. The SQL side (leases on rows, several processes, crashes) is covered by
// test/integration/controllers.test.ts and the pooler tests.

interface Item {
  readonly id: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const db = {} as Db; // never used by the queue in memory
const lease: Lease = { owner: 'me', ms: 60 };
const logger = pino({ level: 'silent' });

// Items due in id order; a claim takes the unclaimed ones, a record finishes them.
class MemoryQueue implements LeaseQueue<Item, string> {
  readonly claimed = new Set<string>();
  readonly finished = new Set<string>();
  readonly claimSizes: number[] = [];
  readonly recordSizes: number[] = [];
  readonly renewed: string[][] = [];
  readonly released: string[] = [];
  failRecords = 0; // the next records to fail
  dueChecks = 0; // msUntilNextDue calls
  lastDueCheckAt = 0;
  lastRecordAt = 0;
  // When set, whether an item's record may free others (as an event with a later one of its resource).
  releasesOthers?: (item: Item) => boolean;

  constructor(public items: Item[]) {}

  async claim(_db: Db, _lease: Lease, limit: number): Promise<Item[]> {
    await sleep(1);
    const taken = this.items
      .filter((item) => !this.claimed.has(item.id) && !this.finished.has(item.id))
      .slice(0, limit);
    for (const item of taken) this.claimed.add(item.id);
    this.claimSizes.push(limit);
    return taken;
  }

  async record(_db: Db, _lease: Lease, outcomes: readonly string[]): Promise<void> {
    await sleep(1);
    if (this.failRecords > 0) {
      this.failRecords--;
      throw new Error('the database is away');
    }
    this.recordSizes.push(outcomes.length);
    this.lastRecordAt = performance.now();
    for (const id of outcomes) {
      this.claimed.delete(id);
      this.finished.add(id);
    }
  }

  async renew(_db: Db, _lease: Lease, ids: readonly string[]): Promise<void> {
    this.renewed.push([...ids]);
  }

  async release(_db: Db, _lease: Lease, ids: readonly string[]): Promise<void> {
    this.released.push(...ids);
    for (const id of ids) this.claimed.delete(id);
  }

  async msUntilNextDue(): Promise<number | undefined> {
    this.dueChecks++;
    this.lastDueCheckAt = performance.now();
    return undefined;
  }
}

const items = (count: number): Item[] =>
  Array.from({ length: count }, (_, index) => ({ id: `item-${String(index).padStart(3, '0')}` }));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

// Started workers whose every item waits until `release` is called.
function gatedWorkers(
  queue: MemoryQueue,
  concurrency: number,
): { workers: LeaseWorkers<Item, string>; release: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const workers = new LeaseWorkers(
    queue,
    async (item: Item) => {
      await gate;
      return item.id;
    },
    { db, lease, concurrency, batchSize: 32, logger, name: 'test' },
  );
  workers.start();
  return { workers, release };
}

describe('lease workers', () => {
  it('works every item once, never more at once than its concurrency, in batched claims and records', async () => {
    const queue = new MemoryQueue(items(60));
    let running = 0;
    let most = 0;
    const worked: string[] = [];
    const workers = new LeaseWorkers(
      queue,
      async (item: Item) => {
        running++;
        most = Math.max(most, running);
        await sleep(3);
        running--;
        worked.push(item.id);
        return item.id;
      },
      { db, lease, concurrency: 4, batchSize: 32, logger, name: 'test' },
    );
    workers.start();
    await until(() => queue.finished.size === 60, 'every item is recorded');
    await workers.stop();

    expect([...worked].sort()).toEqual(queue.items.map((item) => item.id));
    expect(most).toBe(4);
    // A claim is for the free workers and one more per worker: at most 8 here, never the batch size.
    expect(Math.max(...queue.claimSizes)).toBe(8);
    expect(queue.claimSizes.length).toBeLessThan(60);
    // Outcomes that finish while a record runs go together in the next.
    expect(queue.recordSizes.reduce((sum, size) => sum + size, 0)).toBe(60);
    expect(queue.recordSizes.length).toBeLessThan(60);
  });

  it('claims nothing while every worker is busy', async () => {
    const queue = new MemoryQueue(items(10));
    const { workers, release } = gatedWorkers(queue, 2);
    await until(() => queue.claimed.size > 0, 'a claim');
    workers.wake();
    workers.wake();
    await sleep(30);
    // Two running, two in hand: the first claim's, and no other claim was made.
    expect(queue.claimSizes).toEqual([4]);
    expect(queue.claimed.size).toBe(4);
    release();
    await until(() => queue.finished.size === 10, 'every item is recorded');
    await workers.stop();
  });

  it('renews what it holds, and at stop gives back what it had not started and records the rest', async () => {
    const queue = new MemoryQueue(items(6));
    const { workers, release } = gatedWorkers(queue, 1);
    await until(() => queue.claimed.size === 2, 'one running and one in hand');
    // Renewed every third of the lease (20 ms), both of them, while the handler waits.
    await until(() => queue.renewed.length >= 3, 'three renewals');
    expect(queue.renewed.at(-1)?.sort()).toEqual(['item-000', 'item-001']);

    const stopping = workers.stop();
    await sleep(5);
    release();
    await stopping;
    expect(queue.released).toEqual(['item-001']);
    expect([...queue.finished]).toEqual(['item-000']);
    expect(queue.claimed.size).toBe(0);
  });

  it('keeps outcomes whose record failed and records them once the database answers again', async () => {
    const queue = new MemoryQueue(items(3));
    queue.failRecords = 2;
    const workers = new LeaseWorkers(queue, async (item: Item) => item.id, {
      db,
      lease,
      concurrency: 3,
      batchSize: 32,
      logger,
      name: 'test',
    });
    workers.start();
    await until(() => queue.finished.size === 3, 'every item is recorded after the failures');
    await workers.stop();
    expect(queue.failRecords).toBe(0);
    expect(queue.recordSizes.reduce((sum, size) => sum + size, 0)).toBe(3);
  });

  it('lets a slow item step aside, up to the limit, so the items behind it take its worker', async () => {
    const queue = new MemoryQueue(items(8));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const answers: boolean[] = [];
    const started: string[] = [];
    const workers = new LeaseWorkers(
      queue,
      async (item: Item, setAside) => {
        started.push(item.id);
        if (item.id < 'item-003') {
          // The first three hang; each asks to step aside (twice: the second ask is refused).
          answers.push(setAside(), setAside());
          await gate;
        }
        return item.id;
      },
      { db, lease, concurrency: 1, batchSize: 32, logger, name: 'test', setAsideLimit: 2 },
    );
    workers.start();
    // Two hung items stepped aside; the third hangs on the one worker, so nothing else starts.
    await until(() => started.length === 3, 'three items started');
    await sleep(30);
    expect(answers).toEqual([true, false, true, false, false, false]);
    expect(started).toEqual(['item-000', 'item-001', 'item-002']);
    expect(queue.finished.size).toBe(0);
    // Still held: renewed with the rest, and recorded once done.
    await until(() => (queue.renewed.at(-1) ?? []).includes('item-000'), 'a renewal of a set-aside item');
    release();
    await until(() => queue.finished.size === 8, 'every item is recorded');
    await workers.stop();
  });

  it('claims after a record only when the recorded items may have freed others', async () => {
    const queue = new MemoryQueue(items(1));
    queue.releasesOthers = () => false;
    const { workers, release } = gatedWorkers(queue, 1);
    await until(() => queue.claimed.size === 1, 'the claim');
    release();
    await until(() => queue.finished.size === 1, 'the record');
    await sleep(20);
    expect(queue.claimSizes.length).toBe(1);

    // An item that had others waiting for it: a claim follows its record.
    queue.items.push({ id: 'item-001' });
    queue.releasesOthers = () => true;
    workers.wake();
    await until(() => queue.finished.size === 2, 'the second record');
    await until(() => queue.claimSizes.length === 3, 'a claim after the record');
    await workers.stop();
  });

  it('claims after a record when another claim went out while the item was held', async () => {
    const queue = new MemoryQueue(items(1));
    queue.releasesOthers = () => false;
    const { workers, release } = gatedWorkers(queue, 2);
    await until(() => queue.claimed.size === 1, 'the claim');
    // A later claim, which may have passed over an item waiting for the one held.
    workers.wake();
    await until(() => queue.claimSizes.length === 2, 'the second claim');
    release();
    await until(() => queue.finished.size === 1, 'the record');
    await until(() => queue.claimSizes.length === 3, 'a claim after the record');
    await workers.stop();
  });

  it('asks when the next item falls due at most every 50 ms while items trickle in', async () => {
    const queue = new MemoryQueue([]);
    const workers = new LeaseWorkers(queue, async (item: Item) => item.id, {
      db,
      lease,
      concurrency: 2,
      batchSize: 32,
      logger,
      name: 'test',
    });
    workers.start();
    const started = Date.now();
    for (let index = 0; index < 40; index++) {
      queue.items.push({ id: `trickle-${String(index).padStart(3, '0')}` });
      workers.wake();
      await sleep(5);
    }
    await until(() => queue.finished.size === 40, 'every item is recorded');
    const elapsed = Date.now() - started;
    // Idle after nearly every item, but asked at most once per 50 ms (and once at the start).
    expect(queue.dueChecks).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1);
    // Once the trickle stops, the ask still comes, after the last record.
    await sleep(80);
    expect(queue.lastDueCheckAt).toBeGreaterThan(queue.lastRecordAt);
    await workers.stop();
  });
});
