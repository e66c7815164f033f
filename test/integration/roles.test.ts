import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/app/service.ts';
import { apiBase } from '../../src/service-name.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { callApi, type ServingService, startLoggedProcess, startLoggedService } from '../support/service.ts';
import { openSse } from '../support/sse.ts';

// A deployment may run its API and its event handling as processes of their own (--role api, --role
// worker) on one database: the API's writes are then handled by the workers alone.
describe('an api process and a worker process', () => {
  let database: TestDatabase;
  let api: ServingService;
  const started: RunningService[] = [];
  const flags = () => ({ dbUrl: database.url, enableJwt: false, eventResyncInterval: '200ms' });
  const unreconciled = async (sourceId: string): Promise<number> => {
    const rows = await database.query<{ count: number }>(
      'select count(*)::int as count from events where source_id = $1 and reconciled_date is null',
      [sourceId],
    );
    return rows[0]?.count ?? -1;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = (await startLoggedService({ ...flags(), role: 'api' })).service;
    started.push(api);
  });
  afterAll(async () => {
    await Promise.all(started.map((service) => service.stop()));
    await database?.drop();
  });

  it('the api process serves writes and watch streams but handles no event; a worker handles them', async () => {
    const stream = await openSse(`${api.apiUrl}${apiBase}/dinosaurs?watch=true`);
    try {
      const created = await callApi(api.apiUrl, `${apiBase}/dinosaurs`, {
        method: 'POST',
        body: { species: 'Tarbosaurus' },
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      // The watch stream is fed by the api process's own listener.
      await stream.waitUntil(
        () => stream.messages.some((message) => message.data.includes(id)),
        'the create on the watch stream',
      );
      // Several resync intervals of the api process pass: nothing claims the event.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await unreconciled(id)).toBe(1);

      const { service: worker, logs } = await startLoggedProcess({ ...flags(), role: 'worker' });
      started.push(worker);
      expect(worker.apiUrl).toBeUndefined();
      expect(logs.find((line) => line.msg === 'serving')).toMatchObject({ role: 'worker' });
      await expect.poll(() => unreconciled(id), { timeout: 10_000 }).toBe(0);
      expect((await fetch(`${worker.healthUrl}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${worker.metricsUrl}/metrics`)).text()).toContain('events');
    } finally {
      stream.close();
    }
  });
});
