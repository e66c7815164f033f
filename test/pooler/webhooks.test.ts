import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { expectEachDinosaurChangeDeliveredOnceInOrder } from '../support/delivery-checks.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import {
  advisoryLocks,
  apiBase,
  inParallel,
  type Replica,
  startPooledReplica,
} from '../support/pooled-trex.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';

// Webhook deliveries from two replicas behind PgBouncer in transaction mode: every change reaches the
// receiver once, each resource's in order. Claims on deliveries must hold without a session of their
// own: through the pooler, a session advisory lock lands on whichever server connection took it.
describe('webhook deliveries through PgBouncer (transaction mode)', () => {
  let database: TestDatabase;
  let pooler: PgBouncer;
  let receiver: Receiver;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pooler = await startPgBouncer(inject('adminUrl'));
    receiver = await startReceiver();
    for (let index = 0; index < 2; index++) {
      replicas.push(
        await startPooledReplica(database, pooler, {
          args: [
            '--webhook-allowed-hosts=127.0.0.1',
            '--event-resync-interval=200ms',
            '--webhook-retry-backoff=100ms',
            '--db-max-open-connections=8',
          ],
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await receiver?.close();
    await pooler?.stop();
    await database?.drop();
  });

  it('delivers each change once, in order per resource, from either replica', async () => {
    const api = (index: number) => replicas[index % replicas.length] as Replica;
    const webhook = await api(0).api(`${apiBase}/webhooks`, {
      method: 'POST',
      body: {
        name: 'pooled',
        url: `${receiver.url}/pooled`,
        sources: 'Dinosaurs',
        secret: 'pooled secret',
        enabled: true,
      },
    });
    expect(webhook.status, webhook.text).toBe(201);

    const ids = await inParallel(
      Array.from({ length: 10 }, (_, index) => index),
      5,
      async (index) => {
        const created = await api(index).api(`${apiBase}/dinosaurs`, {
          method: 'POST',
          body: { species: `hooked ${index}` },
        });
        expect(created.status, created.text).toBe(201);
        const id: string = created.body.id;
        const patched = await api(index + 1).api(`${apiBase}/dinosaurs/${id}`, {
          method: 'PATCH',
          body: { species: `hooked ${index} again` },
        });
        expect(patched.status, patched.text).toBe(200);
        const deleted = await api(index).api(`${apiBase}/dinosaurs/${id}`, { method: 'DELETE' });
        expect(deleted.status, deleted.text).toBe(204);
        return id;
      },
    );
    await expectEachDinosaurChangeDeliveredOnceInOrder(database, receiver, ids, 30);
    for (const request of receiver.requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/pooled');
      expect(request.headers['x-webhook-signature-256']).toBeTruthy();
    }
    expect(await advisoryLocks(database)).toBe(0);
  }, 90_000);
});
