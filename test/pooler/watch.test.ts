import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import { apiBase, type Replica, startPooledReplica } from '../support/pooled-trex.ts';
import { openSse, type SseStream } from '../support/sse.ts';

// A watch stream of a replica behind PgBouncer in transaction mode: its queries go through the pooler,
// its LISTEN straight to PostgreSQL (--db-listen-url). Through the pooler, a LISTEN would land on
// whichever server connection ran it, and the notifications with it.
describe('a watch stream through PgBouncer (transaction mode)', () => {
  const collection = `${apiBase}/dinosaurs`;
  let database: TestDatabase;
  let pooler: PgBouncer;
  let replica: Replica;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pooler = await startPgBouncer(inject('adminUrl'));
    // A resync far off: only a notification (LISTEN on the direct connection) wakes its controllers.
    replica = await startPooledReplica(database, pooler, { args: ['--event-resync-interval=60s'] });
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await replica?.stop();
    await pooler?.stop();
    await database?.drop();
  });

  it('sends ADDED, MODIFIED and DELETED for changes, with the events ids, in order', async () => {
    const stream = await openSse(`${replica.apiUrl}${collection}?watch=true`);
    streams.push(stream);
    expect(stream.status).toBe(200);

    const created = await replica.api(collection, { method: 'POST', body: { species: 'Streamosaurus' } });
    expect(created.status, created.text).toBe(201);
    const { id } = created.body;
    await stream.waitForMessages(1);
    const patched = await replica.api(`${collection}/${id}`, {
      method: 'PATCH',
      body: { species: 'Bouncerosaurus' },
    });
    expect(patched.status, patched.text).toBe(200);
    await stream.waitForMessages(2);
    const deleted = await replica.api(`${collection}/${id}`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(204);
    await stream.waitForMessages(3);

    const events = await database.query<{ id: string; event_type: string }>(
      'select id, event_type from events where source_id = $1 order by seq',
      [id],
    );
    expect(events.map((event) => event.event_type)).toEqual(['Create', 'Update', 'Delete']);
    const changes = stream.messages.map((message) => ({
      id: message.id,
      event: message.event,
      data: JSON.parse(message.data),
    }));
    expect(changes).toEqual([
      { id: events[0]?.id, event: 'ADDED', data: { type: 'ADDED', object: created.body } },
      { id: events[1]?.id, event: 'MODIFIED', data: { type: 'MODIFIED', object: patched.body } },
      { id: events[2]?.id, event: 'DELETED', data: { type: 'DELETED', object: patched.body } },
    ]);
  });

  it('hears notifications on its direct LISTEN connection: a change is handled at once, not at the next resync', async () => {
    const created = await replica.api(collection, { method: 'POST', body: { species: 'Notifiedosaurus' } });
    expect(created.status, created.text).toBe(201);
    await waitFor(
      async () => {
        const [event] = await database.query<{ reconciled_date: Date | null }>(
          'select reconciled_date from events where source_id = $1',
          [created.body.id],
        );
        return Boolean(event?.reconciled_date);
      },
      'the event is reconciled (a notification woke the controllers; the resync is 60 s away)',
      10_000,
      50,
    );
  });

  it('keeps streaming to several watchers at once, each seeing every change', async () => {
    const watchers = await Promise.all(
      Array.from({ length: 3 }, () => openSse(`${replica.apiUrl}${collection}?watch=true`)),
    );
    streams.push(...watchers);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      const created = await replica.api(collection, {
        method: 'POST',
        body: { species: `watched ${index}` },
      });
      expect(created.status, created.text).toBe(201);
      ids.push(created.body.id);
    }
    for (const watcher of watchers) {
      await watcher.waitForMessages(5);
      expect(watcher.messages.map((message) => JSON.parse(message.data).object.id)).toEqual(ids);
    }
  });
});
