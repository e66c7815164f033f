import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import {
  advisoryLocks,
  apiBase,
  inParallel,
  type Replica,
  startPooledReplica,
  unreconciledEvents,
} from '../support/pooled-trex.ts';

// Three replicas behind PgBouncer in transaction mode race for the events of 500 creates spread over
// them. Each event must be handled once: a claim is a row naming its holder, not a session advisory lock
// (through the pooler such a lock lands on whichever server connection took it, and stays there).
describe('three replicas racing for events through PgBouncer (transaction mode)', () => {
  let database: TestDatabase;
  let pooler: PgBouncer;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pooler = await startPgBouncer(inject('adminUrl'));
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: 3 }, () =>
          startPooledReplica(database, pooler, {
            // 3 x (8 + 4 + 4 + 2) clients at most: within PgBouncer's default 100.
            args: ['--db-max-open-connections=8', '--event-concurrency=4', '--event-resync-interval=200ms'],
          }),
        ),
      )),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await pooler?.stop();
    await database?.drop();
  });

  it('handles each of 500 creates once: every event reconciled with one attempt, no advisory lock left', async () => {
    const ids = await inParallel(
      Array.from({ length: 500 }, (_, index) => index),
      12,
      async (index) => {
        const replica = replicas[index % replicas.length] as Replica;
        const created = await replica.api(`${apiBase}/dinosaurs`, {
          method: 'POST',
          body: { species: `racer ${index}` },
        });
        expect(created.status, created.text).toBe(201);
        return created.body.id as string;
      },
    );
    expect(new Set(ids).size).toBe(500);

    await waitFor(
      async () => (await unreconciledEvents(database)) === 0,
      'every event is reconciled',
      60_000,
      250,
    );
    const events = await database.query<{ source_id: string; attempts: number; failed_at: Date | null }>(
      "select source_id, attempts, failed_at from events where source = 'Dinosaurs'",
    );
    expect(events).toHaveLength(500);
    expect(new Set(events.map((event) => event.source_id))).toEqual(new Set(ids));
    // One handling each: a second one (a duplicate claim, or a retry) would have added an attempt.
    expect(events.filter((event) => event.attempts !== 1 || event.failed_at !== null)).toEqual([]);

    // Still running, idle: no advisory lock of any session in this database.
    expect(await advisoryLocks(database)).toBe(0);
    // A resync or two later, still none, and nothing handled again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await advisoryLocks(database)).toBe(0);
    const [again] = await database.query<{ attempts: number }>(
      'select sum(attempts)::int as attempts from events',
    );
    expect(again?.attempts).toBe(500);
    // Each replica took part in the race (its handler's log line), so the race was real.
    for (const replica of replicas) {
      expect(replica.logs.some((line) => line.msg === 'dinosaur upserted')).toBe(true);
    }
  }, 120_000);

  it('leaves no advisory lock once the replicas have stopped', async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    for (const replica of replicas) expect((await replica.trex.exited).code).toBe(0);
    expect(await advisoryLocks(database)).toBe(0);
  }, 60_000);
});
