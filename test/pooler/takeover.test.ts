import KSUID from 'ksuid';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import {
  apiBase,
  inParallel,
  type Replica,
  startPooledReplica,
  unreconciledEvents,
} from '../support/pooled-trex.ts';

const leaseMs = 2000;
// What a takeover may take beyond the lease: the survivor's next look for due events (a resync every
// 200 ms, or its timer at the claim's expiry) and the handling, on a small and busy machine.
const marginMs = 5000;

// A replica killed with SIGKILL mid-batch behind PgBouncer in transaction mode: its claims are rows
// with an expiry, so once they lapse (--event-lease) the survivor takes its events over and reconciles
// them. To catch it mid-batch, the test holds the dinosaurs table locked: the Dinosaur handler reads
// its row, so every handling waits, with its claim held and renewed, until the lock goes.
describe('a replica killed mid-batch through PgBouncer (transaction mode)', () => {
  let database: TestDatabase;
  let pooler: PgBouncer;
  const replicas: Replica[] = [];
  let locker: pg.Client | undefined;

  const flags = [`--event-lease=${leaseMs}ms`, '--event-resync-interval=200ms', '--event-concurrency=4'];

  beforeAll(async () => {
    database = await createTestDatabase();
    pooler = await startPgBouncer(inject('adminUrl'));
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await Promise.all(replicas.map((replica) => replica.stop()));
    await pooler?.stop();
    await database?.drop();
  });

  it('has its claimed events taken over and reconciled by the survivor within the lease and a margin', async () => {
    const victim = await startPooledReplica(database, pooler, { args: flags });
    replicas.push(victim);
    const ids = await inParallel(
      Array.from({ length: 60 }, (_, index) => index),
      6,
      async (index) => {
        const created = await victim.api(`${apiBase}/dinosaurs`, {
          method: 'POST',
          body: { species: `doomed ${index}` },
        });
        expect(created.status, created.text).toBe(201);
        return created.body.id as string;
      },
    );
    await waitFor(async () => (await unreconciledEvents(database)) === 0, 'the creates are handled', 30_000);

    // Handling blocks from here on: the Dinosaur handler cannot read its row.
    locker = new pg.Client(database.url);
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table dinosaurs in access exclusive mode');
    // An Update event per dinosaur, as a Kind's service writes one (the row itself cannot be written now).
    for (const id of ids) {
      const eventId = KSUID.randomSync().string;
      await database.query(
        `insert into events (id, source, source_id, event_type, actor, created_at, updated_at)
         values ($1, 'Dinosaurs', $2, 'Update', 'system', now(), now())`,
        [eventId, id],
      );
      await database.query(`select pg_notify('events', $1)`, [eventId]);
    }
    // The victim alone claims first: whoever holds a claim now is the victim.
    const owners = async (): Promise<string[]> =>
      (
        await database.query<{ claimed_by: string }>(
          `select distinct claimed_by from events
           where reconciled_date is null and claimed_by is not null and claim_expires_at > now()`,
        )
      ).map((row) => row.claimed_by);
    await waitFor(async () => (await owners()).length > 0, 'the victim claims events', 15_000);
    const [victimOwner, ...others] = await owners();
    expect(others).toEqual([]);

    // The survivor starts (its list endpoint would wait on the lock: its readiness answers), and claims
    // events of its own: both replicas are mid-batch.
    const survivor = await startPooledReplica(database, pooler, { args: flags, ready: 'readyz' });
    replicas.push(survivor);
    await waitFor(
      async () => (await owners()).some((owner) => owner !== victimOwner),
      'the survivor claims events too',
      15_000,
    );

    const held = await database.query<{ id: string; source_id: string }>(
      'select id, source_id from events where claimed_by = $1 and reconciled_date is null',
      [victimOwner],
    );
    expect(held.length).toBeGreaterThan(0);
    // Renewed while the handling waits: the claims outlive the lease as long as the holder lives.
    await new Promise((resolve) => setTimeout(resolve, leaseMs * 1.5));
    const [stillHeld] = await database.query<{ count: number }>(
      `select count(*)::int as count from events
       where claimed_by = $1 and reconciled_date is null and claim_expires_at > now() and id = any($2)`,
      [victimOwner, held.map((event) => event.id)],
    );
    expect(stillHeld?.count).toBe(held.length);

    await victim.kill();
    expect(victim.trex.hasExited()).toBe(true);
    const killedAt = Date.now();
    await locker.query('commit');
    await locker.end();
    locker = undefined;

    const heldIds = held.map((event) => event.id);
    await waitFor(
      async () => {
        const [row] = await database.query<{ count: number }>(
          'select count(*)::int as count from events where id = any($1) and reconciled_date is not null',
          [heldIds],
        );
        return row?.count === heldIds.length;
      },
      `the survivor reconciles the ${heldIds.length} events the victim held`,
      leaseMs + marginMs,
      50,
    );
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThanOrEqual(leaseMs + marginMs);

    // The survivor handled them (its handler's log line names each dinosaur), and everything else too.
    await waitFor(
      async () => (await unreconciledEvents(database)) === 0,
      'every event is reconciled',
      30_000,
    );
    // Its log lines are written asynchronously, so they may reach the pipe after the records.
    const unlogged = () => {
      const handled = new Set(
        survivor.logs.filter((line) => line.msg === 'dinosaur upserted').map((line) => String(line.id)),
      );
      return held.filter((event) => !handled.has(event.source_id));
    };
    await waitFor(
      async () => unlogged().length === 0,
      'the survivor logs each dinosaur it handled',
      5_000,
    ).catch(
      () => undefined, // the expectation below names what is missing
    );
    expect(unlogged()).toEqual([]);
    const failed = await database.query('select id from events where failed_at is not null');
    expect(failed).toEqual([]);
  }, 120_000);
});
