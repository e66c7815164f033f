import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { type ClaimQueue, ClaimWorkers } from '../../src/events/claim-workers.ts';

// The claiming loop alone, over a queue in memory: which items go to which worker, and when it lists.
// The database side (advisory locks, several processes) is covered by test/integration/controllers.test.ts.

interface Item {
  readonly id: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// A queue of items due in id order. Items in `heldElsewhere` are claimed by another replica: taking
// them fails. Taking any other item works on it for a moment, then it is done.
class MemoryQueue implements ClaimQueue<Item> {
  readonly done = new Set<string>();
  readonly heldElsewhere = new Set<string>();
  readonly offers = new Map<string, number>();
  listings = 0;
  working = 0;
  mostWorkingAtOnce = 0;

  constructor(public items: Item[]) {}

  async due(_connection: Db, limit: number, after: Item | undefined): Promise<Item[]> {
    this.listings++;
    await sleep(1);
    return this.items
      .filter((item) => !this.done.has(item.id) && (after === undefined || item.id > after.id))
      .slice(0, limit);
  }

  async take(_connection: Db, item: Item): Promise<boolean> {
    this.offers.set(item.id, (this.offers.get(item.id) ?? 0) + 1);
    if (this.heldElsewhere.has(item.id) || this.done.has(item.id)) return false;
    this.working++;
    this.mostWorkingAtOnce = Math.max(this.mostWorkingAtOnce, this.working);
    await sleep(2);
    this.working--;
    this.done.add(item.id);
    return true;
  }

  async msUntilNextRetry(): Promise<number | undefined> {
    return undefined;
  }
}

function itemsNumbered(from: number, count: number): Item[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `item-${String(from + index).padStart(4, '0')}`,
  }));
}

// Each worker pins "a connection": here a stand-in, since the memory queue ignores it.
const connectionStandIn = {
  connection: () => ({ execute: <T>(work: (connection: Db) => Promise<T>) => work(connectionStandIn) }),
} as unknown as Db;

function workersOver(queue: MemoryQueue, concurrency: number): ClaimWorkers<Item> {
  return new ClaimWorkers(queue, {
    db: connectionStandIn,
    concurrency,
    logger: pino({ level: 'silent' }),
    failureMessage: 'failed',
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

// Whether the workers have stopped listing: the count holds still for a while.
async function listingsSettle(queue: MemoryQueue): Promise<number> {
  for (;;) {
    const before = queue.listings;
    await sleep(50);
    if (queue.listings === before) return before;
  }
}

describe('claim workers', () => {
  it('offer each due item to one worker of the process, once, and work up to their concurrency at once', async () => {
    const queue = new MemoryQueue(itemsNumbered(0, 200));
    const workers = workersOver(queue, 4);
    workers.wake();
    await until(() => queue.done.size === 200, 'every item is done');
    await workers.stop();
    expect([...queue.offers.values()].every((offers) => offers === 1)).toBe(true);
    expect(queue.offers.size).toBe(200);
    expect(queue.mostWorkingAtOnce).toBe(4);
    // One listing per page of 20, give or take the ones that find the page's last items still in hand.
    expect(queue.listings).toBeLessThan(200 / 20 + 10);
  });

  it('page past a full listing of items held elsewhere, work the free ones behind it, then stop listing', async () => {
    const queue = new MemoryQueue(itemsNumbered(0, 45));
    for (const item of queue.items.slice(0, 40)) queue.heldElsewhere.add(item.id);
    const workers = workersOver(queue, 3);
    workers.wake();
    await until(() => queue.done.size === 5, 'the five free items are done');
    const settled = await listingsSettle(queue);
    expect(settled).toBeLessThan(10);
    expect([...queue.done].sort()).toEqual(queue.items.slice(40).map((item) => item.id));
    await workers.stop();
  });

  it('look again for an item that falls due during a drain, when woken', async () => {
    const queue = new MemoryQueue(itemsNumbered(0, 30));
    const workers = workersOver(queue, 2);
    workers.wake();
    await until(() => queue.done.size >= 10, 'the drain is under way');
    queue.items = [...queue.items, ...itemsNumbered(100, 1)];
    workers.wake();
    await until(() => queue.done.size === 31, 'the late item is done too');
    await listingsSettle(queue);
    await workers.stop();
    expect(queue.offers.get('item-0100')).toBe(1);
  });

  it('hand out nothing more once stopped', async () => {
    const queue = new MemoryQueue(itemsNumbered(0, 100));
    const workers = workersOver(queue, 2);
    workers.wake();
    await until(() => queue.done.size >= 5, 'the drain is under way');
    await workers.stop();
    const offered = queue.offers.size;
    workers.wake();
    await sleep(50);
    expect(queue.offers.size).toBe(offered);
    expect(queue.done.size).toBeLessThan(100);
  });
});
