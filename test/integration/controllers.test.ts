import { Writable } from 'node:stream';
import KSUID from 'ksuid';
import { type SqlBool, sql } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/app/metrics.ts';
import { type DatabaseHandle, openDatabase } from '../../src/db/pool.ts';
import {
  ControllerManager,
  type ControllerObserver,
  type ControllerSettings,
} from '../../src/events/controller-manager.ts';
import { ControllerRegistry, type EventRecord } from '../../src/events/controllers.ts';
import { claimEvents, oldestUnreconciledAge } from '../../src/events/event-queue.ts';
import type { EventType } from '../../src/events/event-store.ts';
import { Listener } from '../../src/events/listener.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { serviceForFile } from '../support/service.ts';

// Generous deadlines: the machine running these may be small and busy. Polls never assert timing,
// only that something happens eventually (or, for "never", that it has not happened after a while).
const deadlineMs = 15_000;

async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = deadlineMs,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(25);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function newId(): string {
  return KSUID.randomSync().string;
}

interface EventRow {
  id: string;
  source: string;
  source_id: string;
  event_type: string;
  created_at: Date;
  updated_at: Date;
  reconciled_date: Date | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  failed_at: Date | null;
  claimed_by: string | null;
}

// A counter's value summed over the samples whose labels include `labels` (0 when it has none).
async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe('the controller manager against PostgreSQL', () => {
  let database: TestDatabase;
  let writer: DatabaseHandle; // the "API side", a pool of its own as a Kind's service has
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );

  interface Started {
    readonly name: string;
    readonly manager: ControllerManager;
    readonly listener: Listener;
    readonly pool: DatabaseHandle;
    readonly transitions: string[]; // the listener's connected / disconnected events, in order
    stop(): Promise<void>;
  }
  const started: Started[] = [];
  const openGates: (() => void)[] = [];

  const defaultSettings: ControllerSettings = {
    resyncIntervalMs: 200,
    concurrency: 2,
    batchSize: 32,
    maxAttempts: 5,
    retryBackoffMs: 50,
    maxBackoffMs: 1000,
  };

  // A manager as `trex serve` builds one: its own LISTEN connection, its own pool for claims, and a
  // lease of its own (1 s unless given). Resolves once its listener is connected.
  async function startManager(
    name: string,
    registry: ControllerRegistry,
    settings: Partial<ControllerSettings> = {},
    observer: ControllerObserver = new Metrics(),
    leaseMs = 1000,
  ): Promise<Started> {
    const merged = { ...defaultSettings, ...settings };
    const pool = openDatabase(
      {
        url: database.url,
        maxConnections: 3,
        acquireTimeoutMs: 10_000,
        debug: false,
      },
      logger.child({ manager: name }),
    );
    const listener = new Listener(database.url, 'events', logger.child({ manager: name }));
    const transitions: string[] = [];
    listener.on('connected', () => transitions.push('connected'));
    listener.on('disconnected', () => transitions.push('disconnected'));
    const manager = new ControllerManager({
      db: pool.db,
      lease: { owner: `manager-${name}`, ms: leaseMs },
      listener,
      registry,
      settings: merged,
      logger: logger.child({ manager: name }),
      observer,
    });
    let stopped = false;
    const entry: Started = {
      name,
      manager,
      listener,
      pool,
      transitions,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await manager.stop();
        await pool.close();
      },
    };
    started.push(entry);
    manager.start();
    await waitUntil(() => transitions.includes('connected'), `manager ${name} listens`);
    return entry;
  }

  // A promise the test opens; every gate still closed is opened after each test so nothing hangs.
  function gate(): { readonly opened: Promise<void>; open(): void } {
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    openGates.push(open);
    return { opened, open };
  }

  // Like a Kind's service, without the row: an event with its audit fields.
  async function writeEvent(
    source: string,
    sourceId: string,
    eventType: EventType = 'Create',
  ): Promise<string> {
    const id = newId();
    await database.query(
      `insert into events (id, source, source_id, event_type, actor, created_at, updated_at)
       values ($1, $2, $3, $4, 'system', now(), now())`,
      [id, source, sourceId, eventType],
    );
    return id;
  }

  // As rh-trex writes them: only its own columns, the retry columns left to their defaults.
  async function writePlainEvent(source: string, sourceId: string, eventType: EventType = 'Create') {
    const id = newId();
    await database.query(
      `insert into events (id, source, source_id, event_type, created_at, updated_at)
       values ($1, $2, $3, $4, now(), now())`,
      [id, source, sourceId, eventType],
    );
    return id;
  }

  async function notify(id: string): Promise<void> {
    await database.query(`select pg_notify('events', $1)`, [id]);
  }

  async function eventRow(id: string): Promise<EventRow> {
    const [row] = await database.query<EventRow>('select * from events where id = $1', [id]);
    if (!row) throw new Error(`no event ${id}`);
    return row;
  }

  async function reconciledCount(ids: readonly string[]): Promise<number> {
    const [row] = await database.query<{ count: string }>(
      'select count(*) from events where id = any($1) and reconciled_date is not null',
      [ids],
    );
    return Number(row?.count);
  }

  async function waitReconciled(ids: readonly string[], what = 'the events are reconciled'): Promise<void> {
    await waitUntil(async () => (await reconciledCount(ids)) === ids.length, what);
  }

  // Handlers that count, per event id, which manager ran them.
  function countingRegistry(
    source: string,
    managerName: string,
    calls: Map<string, string[]>,
    work: (event: EventRecord) => Promise<void> = async () => {},
  ): ControllerRegistry {
    const registry = new ControllerRegistry();
    const handler = async (event: EventRecord): Promise<void> => {
      calls.set(event.id, [...(calls.get(event.id) ?? []), managerName]);
      await work(event);
    };
    registry.on(source, 'Create', handler);
    registry.on(source, 'Update', handler);
    registry.on(source, 'Delete', handler);
    return registry;
  }

  // Errors nobody handled: in `trex serve` each one would end the process.
  const uncaught: unknown[] = [];
  const recordUncaught = (error: unknown): void => {
    uncaught.push(error);
  };
  beforeAll(() => {
    process.on('uncaughtException', recordUncaught);
  });
  afterAll(() => {
    process.off('uncaughtException', recordUncaught);
  });

  beforeEach(async () => {
    logs.length = 0;
    uncaught.length = 0;
    database = await createTestDatabase();
    writer = openDatabase(
      { url: database.url, maxConnections: 4, acquireTimeoutMs: 10_000, debug: false },
      logger,
    );
  });

  afterEach(async () => {
    for (const open of openGates.splice(0)) open();
    await Promise.all(started.splice(0).map((entry) => entry.stop()));
    await writer.close();
    await database.drop();
  });

  it('three managers racing over 50 events handle each exactly once', async () => {
    const calls = new Map<string, string[]>();
    const managers = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        startManager(
          name,
          countingRegistry('Racers', name, calls, () => sleep(5)),
          { concurrency: 4 },
        ),
      ),
    );
    // Each manager has its own LISTEN connection.
    const listeners = await database.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = $1 and application_name = 'trex-listener'`,
      [database.name],
    );
    expect(listeners.map((row) => row.pid).sort()).toEqual(
      managers.map((entry) => entry.listener.backendPid).sort(),
    );

    const ids = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const id = await writeEvent('Racers', `racer-${index}`);
        await notify(id);
        return id;
      }),
    );
    await waitReconciled(ids, 'all 50 events are reconciled');
    // Several more resyncs: nobody handles a reconciled event again.
    await sleep(1000);

    expect([...calls.keys()].sort()).toEqual([...ids].sort());
    const duplicates = [...calls.entries()].filter(([, by]) => by.length !== 1);
    expect(duplicates).toEqual([]);
    const rows = await database.query<{ attempts: number; last_error: string | null; reconciled: boolean }>(
      `select attempts, last_error, reconciled_date is not null as reconciled from events where id = any($1)`,
      [ids],
    );
    expect(rows).toHaveLength(50);
    expect(rows.filter((row) => row.attempts !== 1 || row.last_error !== null || !row.reconciled)).toEqual(
      [],
    );
  }, 60_000);

  it('routes Create and Update to OnUpsert and Delete to OnDelete; an event nobody handles is reconciled', async () => {
    const seen: string[] = [];
    const registry = new ControllerRegistry();
    registry.add('Gadgets', {
      onUpsert: async (event) => {
        seen.push(`upsert ${event.eventType} ${event.sourceId}`);
      },
      onDelete: async (event) => {
        seen.push(`delete ${event.eventType} ${event.sourceId}`);
      },
    });
    await startManager('m', registry);
    const ids = [
      await writeEvent('Gadgets', 'g1', 'Create'),
      await writeEvent('Gadgets', 'g1', 'Update'),
      await writeEvent('Gadgets', 'g1', 'Delete'),
      await writeEvent('Nobodys', 'n1', 'Create'),
    ];
    for (const id of ids) await notify(id);
    await waitReconciled(ids);
    expect(seen.sort()).toEqual(['delete Delete g1', 'upsert Create g1', 'upsert Update g1']);
    expect((await eventRow(ids[3] as string)).attempts).toBe(1);
  }, 30_000);

  it('skips an every-event handler where the claim found its condition false, and no other handler', async () => {
    const seen: string[] = [];
    const registry = new ControllerRegistry();
    registry.onEvery(async (event) => {
      seen.push(`wanted ${event.sourceId}`);
    }, sql<SqlBool>`e.source_id like 'yes%'`);
    registry.onEvery(async (event) => {
      seen.push(`every ${event.sourceId}`);
    });
    registry.add('Gadgets', {
      onUpsert: async (event) => {
        seen.push(`own ${event.sourceId}`);
      },
    });
    await startManager('m', registry);
    const ids = [await writeEvent('Gadgets', 'yes-1'), await writeEvent('Gadgets', 'no-1')];
    for (const id of ids) await notify(id);
    await waitReconciled(ids);
    expect(seen.sort()).toEqual(['every no-1', 'every yes-1', 'own no-1', 'own yes-1', 'wanted yes-1']);
  }, 30_000);

  it('retries a handler that fails twice, then records the success: attempts 3, no last error', async () => {
    const metrics = new Metrics();
    const attemptsSeen: number[] = [];
    const registry = new ControllerRegistry();
    registry.on('Flaky', 'Create', async (event) => {
      attemptsSeen.push(event.attempts);
      if (attemptsSeen.length <= 2) throw new Error(`flaky failure ${attemptsSeen.length}`);
    });
    await startManager('m', registry, { retryBackoffMs: 50, maxAttempts: 5 }, metrics);
    const id = await writeEvent('Flaky', 'f1');
    await notify(id);
    await waitReconciled([id], 'the flaky event is reconciled');

    const row = await eventRow(id);
    expect(row).toMatchObject({
      attempts: 3,
      last_error: null,
      next_attempt_at: null,
      failed_at: null,
    });
    expect(row.reconciled_date).toBeInstanceOf(Date);
    // Handlers see how many attempts came before.
    expect(attemptsSeen).toEqual([0, 1, 2]);
    const labels = { source: 'Flaky', event_type: 'Create' };
    expect(await metricValue(metrics, 'controller_events_retried', labels)).toBe(2);
    expect(await metricValue(metrics, 'controller_events_handled', labels)).toBe(1);
    expect(await metricValue(metrics, 'controller_events_failed', labels)).toBe(0);
  }, 30_000);

  it('marks an event whose handler always fails as failed after maxAttempts, and leaves it alone', async () => {
    const metrics = new Metrics();
    let calls = 0;
    const registry = new ControllerRegistry();
    registry.on('Doomed', 'Update', async () => {
      calls++;
      throw new Error('the doomed handler always fails');
    });
    await startManager('m', registry, { maxAttempts: 3, retryBackoffMs: 20, resyncIntervalMs: 100 }, metrics);
    const id = await writeEvent('Doomed', 'd1', 'Update');
    await notify(id);
    await waitUntil(async () => (await eventRow(id)).failed_at !== null, 'the event is marked failed');

    const failed = await eventRow(id);
    expect(failed).toMatchObject({
      attempts: 3,
      last_error: 'the doomed handler always fails',
      reconciled_date: null,
      next_attempt_at: null,
    });
    expect(failed.failed_at).toBeInstanceOf(Date);
    expect(calls).toBe(3);

    // Many resync intervals and a notification later, nobody has touched it.
    await notify(id);
    await sleep(1500);
    expect(calls).toBe(3);
    expect(await eventRow(id)).toEqual(failed);

    const labels = { source: 'Doomed', event_type: 'Update' };
    expect(await metricValue(metrics, 'controller_events_failed', labels)).toBe(1);
    expect(await metricValue(metrics, 'controller_events_retried', labels)).toBe(2);
    expect(await metricValue(metrics, 'controller_events_handled', labels)).toBe(0);
  }, 30_000);

  it('records the backoff: after a failure the next attempt lies in the future and is not tried early', async () => {
    let calls = 0;
    const registry = new ControllerRegistry();
    registry.on('Patient', 'Create', async () => {
      calls++;
      throw new Error('not yet');
    });
    await startManager('m', registry, {
      retryBackoffMs: 60_000,
      maxBackoffMs: 600_000,
      resyncIntervalMs: 100,
    });
    const id = await writeEvent('Patient', 'p1');
    await notify(id);
    await waitUntil(async () => (await eventRow(id)).attempts === 1, 'the first attempt is recorded');

    const [row] = await database.query<EventRow & { wait_seconds: number }>(
      `select *, extract(epoch from next_attempt_at - now())::float8 as wait_seconds from events where id = $1`,
      [id],
    );
    expect(row).toMatchObject({ attempts: 1, last_error: 'not yet', reconciled_date: null, failed_at: null });
    expect(row?.wait_seconds).toBeGreaterThan(45);
    expect(row?.wait_seconds).toBeLessThanOrEqual(60.01);

    // Several resyncs and a notification later, the event still waits for its time.
    await notify(id);
    await sleep(1000);
    expect(calls).toBe(1);
    expect((await eventRow(id)).attempts).toBe(1);
  }, 30_000);

  it('doubles the backoff up to the maximum and never retries before the recorded time', async () => {
    interface Snapshot {
      attempts: number;
      last_error: string | null;
      backoff_ms: number | null;
      due: boolean | null;
    }
    const snapshots: Snapshot[] = [];
    const registry = new ControllerRegistry();
    registry.on('Backoffs', 'Create', async (event) => {
      // What the previous failure recorded, read as this attempt starts.
      const [snapshot] = await database.query<Snapshot>(
        `select attempts, last_error,
           (extract(epoch from next_attempt_at - updated_at) * 1000)::float8 as backoff_ms,
           next_attempt_at <= clock_timestamp() as due
         from events where id = $1`,
        [event.id],
      );
      if (snapshot) snapshots.push(snapshot);
      throw new Error(`attempt ${event.attempts + 1} failed`);
    });
    await startManager('m', registry, {
      retryBackoffMs: 100,
      maxBackoffMs: 500,
      maxAttempts: 5,
      resyncIntervalMs: 100,
    });
    const id = await writeEvent('Backoffs', 'b1');
    await notify(id);
    await waitUntil(async () => (await eventRow(id)).failed_at !== null, 'the event is marked failed');

    expect(snapshots).toEqual([
      { attempts: 0, last_error: null, backoff_ms: null, due: null },
      { attempts: 1, last_error: 'attempt 1 failed', backoff_ms: 100, due: true },
      { attempts: 2, last_error: 'attempt 2 failed', backoff_ms: 200, due: true },
      { attempts: 3, last_error: 'attempt 3 failed', backoff_ms: 400, due: true },
      { attempts: 4, last_error: 'attempt 4 failed', backoff_ms: 500, due: true },
    ]);
    expect(await eventRow(id)).toMatchObject({
      attempts: 5,
      last_error: 'attempt 5 failed',
      next_attempt_at: null,
      reconciled_date: null,
    });
  }, 30_000);

  it('reconciles events written while no manager ran as soon as one starts, rh-trex rows included', async () => {
    const calls = new Map<string, string[]>();
    const plain = [
      await writePlainEvent('Backlog', 'old-1'),
      await writePlainEvent('Backlog', 'old-2', 'Update'),
      await writePlainEvent('Backlog', 'old-3', 'Delete'),
    ];
    const recorded = [await writeEvent('Backlog', 'old-4'), await writeEvent('Backlog', 'old-5')];
    const ids = [...plain, ...recorded];
    // rh-trex's columns only: the retry columns took their defaults.
    expect(await eventRow(plain[0] as string)).toMatchObject({
      attempts: 0,
      last_error: null,
      next_attempt_at: null,
      failed_at: null,
      reconciled_date: null,
    });

    // No notification was sent and the resync is far away: only the start-up scan can find them.
    await startManager('late', countingRegistry('Backlog', 'late', calls), { resyncIntervalMs: 60_000 });
    await waitReconciled(ids, 'the backlog is reconciled');
    expect([...calls.keys()].sort()).toEqual([...ids].sort());
    expect([...calls.values()].every((by) => by.length === 1)).toBe(true);
    const rows = await database.query<{ attempts: number }>(
      'select attempts from events where id = any($1)',
      [ids],
    );
    expect(rows.map((row) => row.attempts)).toEqual([1, 1, 1, 1, 1]);
  }, 30_000);

  it('reconciles an event nobody notified within about one resync interval', async () => {
    const calls = new Map<string, string[]>();
    await startManager('m', countingRegistry('Quiet', 'm', calls), { resyncIntervalMs: 300 });
    // Let the start-up scan finish before writing, so only the resync can find the event.
    const first = await writeEvent('Quiet', 'q0');
    await notify(first);
    await waitReconciled([first]);
    await sleep(300);

    const id = await writeEvent('Quiet', 'q1');
    await waitReconciled([id], 'the unnotified event is reconciled by a resync');
    expect(calls.get(id)).toEqual(['m']);
  }, 30_000);

  it('reports the age of the oldest unreconciled event, and 0 once none waits', async () => {
    const metrics = new Metrics();
    metrics.watchEventLag(() => oldestUnreconciledAge(writer.db));
    expect(await metricValue(metrics, 'controller_event_lag_seconds')).toBe(0);
    const id = newId();
    await database.query(
      `insert into events (id, source, source_id, event_type, created_at, updated_at)
       values ($1, 'Laggards', 'l1', 'Create', now() - interval '30 seconds', now() - interval '30 seconds')`,
      [id],
    );
    const lag = await metricValue(metrics, 'controller_event_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(30);
    expect(lag).toBeLessThan(120);

    await startManager('m', new ControllerRegistry(), {}, metrics);
    await waitReconciled([id]);
    expect(await metricValue(metrics, 'controller_event_lag_seconds')).toBe(0);
  }, 30_000);

  it('reconnects its listener after pg_terminate_backend, rescans, and keeps reconciling', async () => {
    const calls = new Map<string, string[]>();
    // With a resync this far away, only notifications and the reconnect's rescan reconcile events.
    const entry = await startManager('m', countingRegistry('Survivors', 'm', calls), {
      resyncIntervalMs: 60_000,
    });
    const sentinel = await writeEvent('Survivors', 'sentinel');
    await notify(sentinel);
    await waitReconciled([sentinel], 'the start-up work is done');

    // An event whose notification was lost: nothing picks it up until something rescans.
    const missed = await writeEvent('Survivors', 'missed');
    await sleep(500);
    expect((await eventRow(missed)).reconciled_date).toBeNull();

    const before = await database.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = $1 and application_name = 'trex-listener'`,
      [database.name],
    );
    expect(before).toHaveLength(1);
    const oldPid = before[0]?.pid;
    expect(entry.listener.backendPid).toBe(oldPid);
    const [terminated] = await database.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [
      oldPid,
    ]);
    expect(terminated?.ok).toBe(true);

    await waitUntil(
      () => entry.transitions.join(',') === 'connected,disconnected,connected',
      'the listener reports disconnected, then connected again',
    );
    const after = await database.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = $1 and application_name = 'trex-listener'`,
      [database.name],
    );
    expect(after).toHaveLength(1);
    expect(after[0]?.pid).not.toBe(oldPid);
    expect(entry.listener.backendPid).toBe(after[0]?.pid);

    // The rescan after the reconnect finds the missed event.
    await waitReconciled([missed], 'the rescan after the reconnect reconciles the missed event');
    expect(calls.get(missed)).toEqual(['m']);

    // And the new connection LISTENs: a notification still wakes the manager.
    const id = await writeEvent('Survivors', 'after');
    await notify(id);
    await waitReconciled([id], 'an event notified after the reconnect is reconciled');
    expect(calls.get(id)).toEqual(['m']);
    expect(uncaught).toEqual([]);
  }, 30_000);

  it('never runs more handlers at once than its concurrency', async () => {
    let active = 0;
    let maxActive = 0;
    const release = gate();
    const calls = new Map<string, string[]>();
    await startManager(
      'm',
      countingRegistry('Crowd', 'm', calls, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          await release.opened;
          await sleep(20);
        } finally {
          active--;
        }
      }),
      { concurrency: 2 },
    );
    const ids: string[] = [];
    for (let index = 0; index < 6; index++) {
      const id = await writeEvent('Crowd', `c${index}`);
      await notify(id);
      ids.push(id);
    }
    await waitUntil(() => active >= 2, 'two handlers run');
    // Notifications and resyncs keep coming; none of them starts a third handler.
    await sleep(600);
    expect(active).toBe(2);
    expect(calls.size).toBe(2);

    release.open();
    await waitReconciled(ids);
    expect(maxActive).toBe(2);
    expect(calls.size).toBe(6);
  }, 30_000);

  it('lets an idle manager handle a due event while another manager is busy with many others', async () => {
    // A busy replica holds 20 events in slow handlers; a newer event is due and unclaimed, and another
    // replica has nothing to do: it must take that event, not wait for the busy one to finish.
    const calls = new Map<string, string[]>();
    const slow = gate();
    await startManager(
      'busy',
      countingRegistry('Queue', 'busy', calls, () => slow.opened),
      { concurrency: 20 },
    );
    const held: string[] = [];
    for (let index = 0; index < 20; index++) {
      const id = await writeEvent('Queue', `held-${index}`);
      await notify(id);
      held.push(id);
    }
    await waitUntil(() => held.every((id) => calls.has(id)), 'the busy manager runs 20 handlers');

    await startManager('idle', countingRegistry('Queue', 'idle', calls), { concurrency: 2 });
    const id = await writeEvent('Queue', 'newest');
    await notify(id);
    await waitReconciled([id], 'the idle manager reconciles the unclaimed event');
    expect(calls.get(id)).toEqual(['idle']);
    expect(await reconciledCount(held)).toBe(0);

    slow.open();
    await waitReconciled(held);
    expect(held.map((heldId) => calls.get(heldId))).toEqual(held.map(() => ['busy']));
  }, 60_000);

  it('stop() waits for a running handler to finish, and records its success', async () => {
    const release = gate();
    const calls = new Map<string, string[]>();
    const entry = await startManager(
      'm',
      countingRegistry('Stoppers', 'm', calls, () => release.opened),
      { concurrency: 1 },
    );
    const id = await writeEvent('Stoppers', 's1');
    await notify(id);
    await waitUntil(() => calls.has(id), 'the handler runs');

    let stopped = false;
    const stopping = entry.manager.stop().then(() => {
      stopped = true;
    });
    await sleep(500);
    expect(stopped).toBe(false);
    expect((await eventRow(id)).reconciled_date).toBeNull();

    release.open();
    await stopping;
    expect((await eventRow(id)).reconciled_date).toBeInstanceOf(Date);

    // A stopped manager claims nothing more.
    const later = await writeEvent('Stoppers', 's2');
    await notify(later);
    await sleep(600);
    expect(calls.has(later)).toBe(false);
    expect((await eventRow(later)).reconciled_date).toBeNull();
  }, 30_000);

  it('hands the event of a manager that dies mid-handler to another manager once its lease lapses', async () => {
    const calls = new Map<string, string[]>();
    const stuck = gate();
    const leaseMs = 1000;
    const doomed = await startManager(
      'doomed',
      countingRegistry('Orphans', 'doomed', calls, () => stuck.opened),
      { concurrency: 1, resyncIntervalMs: 60_000 },
      new Metrics(),
      leaseMs,
    );
    const id = await writeEvent('Orphans', 'o1');
    await notify(id);
    await waitUntil(() => calls.has(id), 'the doomed manager runs the handler');
    expect(await eventRow(id)).toMatchObject({ claimed_by: 'manager-doomed' });

    // The survivor resyncs rarely: only the lapse of the claim can wake it in time.
    await startManager('survivor', countingRegistry('Orphans', 'survivor', calls), {
      resyncIntervalMs: 60_000,
    });
    // While the claim is renewed (three lease lengths here), the survivor leaves the event alone.
    await notify(id);
    await sleep(3 * leaseMs);
    expect(calls.get(id)).toEqual(['doomed']);

    // "Crash" the doomed manager: its database connections go, so it renews nothing any more.
    const crashedAt = Date.now();
    await doomed.pool.close();

    await waitReconciled([id], 'the survivor reconciles the orphaned event');
    const takeoverMs = Date.now() - crashedAt;
    expect(takeoverMs).toBeLessThan(leaseMs + 2000);
    expect(calls.get(id)).toEqual(['doomed', 'survivor']);

    // The doomed handler returning late, with no connection, changes nothing.
    stuck.open();
    await doomed.stop();
    const row = await eventRow(id);
    expect(row).toMatchObject({ attempts: 1, last_error: null, failed_at: null, claimed_by: null });
    expect(row.reconciled_date).toBeInstanceOf(Date);
    // Losing the connections is logged and survived: it must not surface as an uncaught exception, which
    // would crash a `trex serve` process.
    expect(uncaught.map((error) => (error as Error).message)).toEqual([]);
  }, 30_000);

  it('keeps an event whose handler outlasts several leases: renewed, never handed to another', async () => {
    const calls = new Map<string, string[]>();
    const leaseMs = 300;
    await startManager(
      'slow',
      countingRegistry('Marathon', 'slow', calls, () => sleep(5 * leaseMs)),
      { concurrency: 1 },
      new Metrics(),
      leaseMs,
    );
    await startManager('eager', countingRegistry('Marathon', 'eager', calls), {}, new Metrics(), leaseMs);
    const id = await writeEvent('Marathon', 'm1');
    await notify(id);
    await waitReconciled([id]);
    await sleep(2 * leaseMs);
    expect(calls.get(id)).toHaveLength(1);
    expect((await eventRow(id)).attempts).toBe(1);
  }, 30_000);

  it("hands out each resource's events one at a time, in the order they were written", async () => {
    // Two managers of four workers each; five resources with four events each, written before either
    // starts, so all twenty are due at once.
    const runs: { readonly sourceId: string; readonly type: string; readonly phase: 'start' | 'end' }[] = [];
    const registry = (): ControllerRegistry => {
      const registry = new ControllerRegistry();
      const handler = async (event: EventRecord): Promise<void> => {
        runs.push({ sourceId: event.sourceId, type: event.eventType, phase: 'start' });
        await sleep(10);
        runs.push({ sourceId: event.sourceId, type: event.eventType, phase: 'end' });
      };
      registry.on('Ordered', 'Create', handler);
      registry.on('Ordered', 'Update', handler);
      registry.on('Ordered', 'Delete', handler);
      return registry;
    };
    const ids: string[] = [];
    const types: EventType[] = ['Create', 'Update', 'Update', 'Delete'];
    for (const type of types) {
      for (let resource = 0; resource < 5; resource++)
        ids.push(await writeEvent('Ordered', `r${resource}`, type));
    }
    await Promise.all(['a', 'b'].map((name) => startManager(name, registry(), { concurrency: 4 })));
    await waitReconciled(ids);

    for (let resource = 0; resource < 5; resource++) {
      const own = runs.filter((run) => run.sourceId === `r${resource}`);
      // Start, end, start, end...: never two at once, and in the written order.
      expect(own.map((run) => run.phase)).toEqual(types.flatMap(() => ['start', 'end']));
      expect(own.filter((run) => run.phase === 'start').map((run) => run.type)).toEqual(types);
    }
    // Different resources did run side by side.
    let active = 0;
    let most = 0;
    for (const run of runs) {
      active += run.phase === 'start' ? 1 : -1;
      most = Math.max(most, active);
    }
    expect(most).toBeGreaterThan(1);
  }, 30_000);

  it("takes a resource's next event as soon as the one before it is recorded, with no resync or notification", async () => {
    // An hour between resyncs: once idle, the manager claims only when woken, or after a record.
    const { manager } = await startManager('chained', countingRegistry('Chained', 'chained', new Map()), {
      resyncIntervalMs: 3_600_000,
    });
    await sleep(300); // its claims at start and on connecting have found nothing
    const chain = [];
    for (const type of ['Create', 'Update', 'Delete'] as const) {
      for (const resource of ['chain-a', 'chain-b']) chain.push(await writeEvent('Chained', resource, type));
    }
    const lone = await writeEvent('Chained', 'lone');
    // A claim says which events have a later one of their resource waiting: the first of each chain.
    const claimed = await claimEvents(writer.db, { owner: 'probe', ms: 60_000 }, 10);
    expect(new Map(claimed.map((event) => [event.sourceId, event.followed]))).toEqual(
      new Map([
        ['chain-a', true],
        ['chain-b', true],
        ['lone', false],
      ]),
    );
    await database.query(
      `update events set claimed_by = null, claim_expires_at = null where source = 'Chained'`,
    );

    // One wake, as one notification would: the later events can only come from the records.
    manager.wake();
    await waitReconciled([...chain, lone], 'every event of both chains');
  }, 30_000);

  it('stop() gives back the events it claimed and did not start, for another manager at once', async () => {
    const calls = new Map<string, string[]>();
    const release = gate();
    const first = await startManager(
      'first',
      countingRegistry('Handover', 'first', calls, () => release.opened),
      { concurrency: 1, resyncIntervalMs: 60_000 },
      new Metrics(),
      60_000,
    );
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push(await writeEvent('Handover', `h${index}`));
    first.manager.wake();
    await waitUntil(() => calls.size === 1, 'the first handler runs');
    // One worker, so one statement claimed two: one to run and one in hand.
    const claimed = await database.query<{ n: number }>(
      `select count(*)::int as n from events where claimed_by = 'manager-first'`,
    );
    expect(claimed[0]?.n).toBe(2);

    const stopping = first.stop();
    release.open();
    await stopping;
    // The one in hand is free again well before its minute-long lease would lapse.
    await startManager('second', countingRegistry('Handover', 'second', calls), {
      resyncIntervalMs: 60_000,
    });
    await waitReconciled(ids, 'the second manager takes the one given back and the rest');
    expect([...calls.values()].filter((by) => by[0] === 'second')).toHaveLength(4);
    expect([...calls.values()].flat()).toHaveLength(5);
  }, 30_000);
});

describe('the Dinosaur controllers in the real service', () => {
  const service = serviceForFile();

  const collection = '/api/rh-trex/v1/dinosaurs';

  async function eventOf(sourceId: string, eventType: string) {
    const search = encodeURIComponent(`source_id = '${sourceId}' and event_type = '${eventType}'`);
    const response = await service.api(`/api/rh-trex/v1/events?search=${search}`);
    expect(response.status).toBe(200);
    expect(response.body.items.length).toBeLessThanOrEqual(1);
    return response.body.items[0];
  }

  async function reconciledEvent(sourceId: string, eventType: string) {
    let event: { reconciled_date: string | null } | undefined;
    await waitUntil(async () => {
      event = await eventOf(sourceId, eventType);
      return typeof event?.reconciled_date === 'string';
    }, `the ${eventType} event of ${sourceId} is reconciled`);
    return event;
  }

  function logged(message: string, fields: Record<string, unknown>): boolean {
    return service.logs.some(
      (line) => line.msg === message && Object.entries(fields).every(([key, value]) => line[key] === value),
    );
  }

  it('reconciles the Create, Update and Delete events of a dinosaur, logging each', async () => {
    const created = await service.api(collection, { method: 'POST', body: { species: 'Controllerosaurus' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const create = await reconciledEvent(id, 'Create');
    expect(create).toMatchObject({ source: 'Dinosaurs', source_id: id, event_type: 'Create', attempts: 1 });
    await waitUntil(
      () => logged('dinosaur upserted', { id, species: 'Controllerosaurus', event: 'Create' }),
      'the upsert is logged',
    );

    const patched = await service.api(`${collection}/${id}`, {
      method: 'PATCH',
      body: { species: 'Renamed' },
    });
    expect(patched.status).toBe(200);
    expect(await reconciledEvent(id, 'Update')).toMatchObject({ attempts: 1, last_error: null });
    await waitUntil(
      () => logged('dinosaur upserted', { id, species: 'Renamed', event: 'Update' }),
      'the update is logged',
    );

    const deleted = await service.api(`${collection}/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await reconciledEvent(id, 'Delete')).toMatchObject({ attempts: 1, last_error: null });
    await waitUntil(() => logged('dinosaur deleted', { id }), 'the delete is logged');
  }, 60_000);

  it('exposes controller metrics on /metrics', async () => {
    const created = await service.api(collection, { method: 'POST', body: { species: 'Metricosaurus' } });
    expect(created.status).toBe(201);
    await reconciledEvent(created.body.id, 'Create');

    let text = '';
    await waitUntil(async () => {
      text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
      return /^controller_event_lag_seconds 0$/m.test(text);
    }, 'the lag is 0 once every event is reconciled');
    const handled = /^controller_events_handled\{source="Dinosaurs",event_type="Create"\} (\d+)$/m.exec(text);
    expect(Number(handled?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^# TYPE controller_events_retried counter$/m);
    expect(text).toMatch(/^# TYPE controller_events_failed counter$/m);
    expect(text).toMatch(/^# TYPE controller_event_lag_seconds gauge$/m);
  }, 30_000);

  it('retries the Create event of a dinosaur that is gone, recording why', async () => {
    const id = newId();
    await service.database.query(
      `insert into events (id, source, source_id, event_type, created_at, updated_at)
       values ($1, 'Dinosaurs', 'no-such-dinosaur', 'Create', now(), now())`,
      [id],
    );
    await service.database.query(`select pg_notify('events', $1)`, [id]);
    let row: EventRow | undefined;
    await waitUntil(async () => {
      [row] = await service.database.query<EventRow>('select * from events where id = $1', [id]);
      return (row?.attempts ?? 0) >= 1;
    }, 'the failed attempt is recorded');
    expect(row).toMatchObject({ reconciled_date: null, failed_at: null });
    expect(row?.last_error).toBe("Dinosaur with id='no-such-dinosaur' not found");
    expect(row?.next_attempt_at).toBeInstanceOf(Date);
  }, 30_000);
});
