import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { expectEachDinosaurChangeDeliveredOnceInOrder } from '../support/delivery-checks.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { callApi, type ServingService, startLoggedService } from '../support/service.ts';

const apiBase = '/api/rh-trex/v1';

// Three replicas on one database race for every event and every delivery: they fan out and send on
// notifications and on a fast resync, so each one looks for work all the time.
describe('webhook deliveries with three racing replicas', () => {
  let database: TestDatabase;
  let receiver: Receiver;
  const replicas: ServingService[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startReceiver();
    for (let index = 0; index < 3; index++) {
      const { service } = await startLoggedService({
        dbUrl: database.url,
        enableJwt: false,
        webhookAllowedHosts: '127.0.0.1',
        eventResyncInterval: '100ms',
        // Few connections each: three replicas share the test server with every other test file.
        dbMaxOpenConnections: '4',
        eventConcurrency: '2',
        webhookConcurrency: '2',
        webhookRetryBackoff: '100ms',
      });
      replicas.push(service);
    }
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await receiver?.close();
    await database?.drop();
  });

  it('deliver every event once, each resource in order', async () => {
    const api = (index: number, path: string, method = 'GET', body?: unknown) =>
      callApi((replicas[index % 3] as ServingService).apiUrl, path, { method, body });
    const webhook = await api(0, `${apiBase}/webhooks`, 'POST', {
      name: 'racing',
      url: `${receiver.url}/racing`,
      sources: 'Dinosaurs',
      secret: 'racing secret',
      enabled: true,
    });
    expect(webhook.status, webhook.text).toBe(201);

    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async (_, index) => {
        const created = await api(index, `${apiBase}/dinosaurs`, 'POST', { species: `racer ${index}` });
        expect(created.status).toBe(201);
        ids.push(created.body.id);
        for (let change = 1; change <= 2; change++) {
          const patched = await api(index + change, `${apiBase}/dinosaurs/${created.body.id}`, 'PATCH', {
            species: `racer ${index} lap ${change}`,
          });
          expect(patched.status).toBe(200);
        }
      }),
    );
    await expectEachDinosaurChangeDeliveredOnceInOrder(database, receiver, ids, 72);
  }, 90_000);
});
