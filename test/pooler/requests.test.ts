import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import { apiBase, inParallel, type Replica, startPooledReplica } from '../support/pooled-trex.ts';

// The request path behind PgBouncer in transaction mode, everything at its default on both sides: the
// service's pool (50 connections) and PgBouncer's (20 server connections per database, 100 clients, no
// startup parameter it does not know). A startup parameter the pooler rejects failed every connection,
// so every request answered 503: this file is that regression's test.
describe('requests through PgBouncer (transaction mode, default settings)', () => {
  let database: TestDatabase;
  let pooler: PgBouncer;
  let replica: Replica;

  beforeAll(async () => {
    database = await createTestDatabase();
    pooler = await startPgBouncer(inject('adminUrl'));
    // Only the three flags a pooler needs: every pool setting at its default.
    replica = await startPooledReplica(database, pooler);
  });
  afterAll(async () => {
    await replica?.stop();
    await pooler?.stop();
    await database?.drop();
  });

  it('answers list, create, get, patch and delete with 2xx, prepared statements off', async () => {
    const collection = `${apiBase}/dinosaurs`;
    const listed = await replica.api(collection);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toMatchObject({ kind: 'DinosaurList', items: [] });

    const created = await replica.api(collection, { method: 'POST', body: { species: 'Poolosaurus' } });
    expect(created.status, created.text).toBe(201);
    const { id } = created.body;

    const fetched = await replica.api(`${collection}/${id}`);
    expect(fetched.status, fetched.text).toBe(200);
    expect(fetched.body).toMatchObject({ id, species: 'Poolosaurus' });

    const searched = await replica.api(
      `${collection}?search=${encodeURIComponent("species = 'Poolosaurus'")}&orderBy=created_at`,
    );
    expect(searched.status, searched.text).toBe(200);
    expect(searched.body.items.map((item: { id: string }) => item.id)).toEqual([id]);

    const patched = await replica.api(`${collection}/${id}`, {
      method: 'PATCH',
      body: { species: 'Transactionosaurus' },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ id, species: 'Transactionosaurus' });

    const deleted = await replica.api(`${collection}/${id}`, { method: 'DELETE' });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await replica.api(`${collection}/${id}`)).status).toBe(404);

    const events = await replica.api(`${apiBase}/events?search=${encodeURIComponent(`source_id = '${id}'`)}`);
    expect(events.status, events.text).toBe(200);
    expect(events.body.items.map((item: { event_type: string }) => item.event_type).sort()).toEqual([
      'Create',
      'Delete',
      'Update',
    ]);
  });

  it('answers a burst of more concurrent requests than PgBouncer has server connections with 2xx', async () => {
    // 60 at once: more than the pooler's 20 server connections, fewer than its 100 clients.
    const statuses = await inParallel(
      Array.from({ length: 120 }, (_, index) => index),
      60,
      async (index) => {
        const response =
          index % 2 === 0
            ? await replica.api(`${apiBase}/dinosaurs`, {
                method: 'POST',
                body: { species: `burst ${index}` },
              })
            : await replica.api(`${apiBase}/dinosaurs?size=5`);
        return `${response.status}${response.status >= 300 ? ` ${response.text}` : ''}`;
      },
    );
    expect(statuses.filter((status) => !status.startsWith('2'))).toEqual([]);
  }, 60_000);

  it('leaves nothing in the pooler log that it refused', () => {
    const log = pooler.log();
    expect(log).not.toMatch(/unsupported startup parameter/);
    expect(log).not.toMatch(/prepared statement "[^"]+" (does not exist|already exists)/);
  });
});
