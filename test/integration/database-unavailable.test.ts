import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { holdRowLock } from '../support/row-lock.ts';
import { startTestService, type TestService } from '../support/service.ts';

const collection = '/api/rh-trex/v1/dinosaurs';
let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

describe('when the database cannot serve a request', () => {
  it('answers 503 code 27 while the database is unreachable, and health says so', async () => {
    service = await startTestService({
      dbUrl: 'postgres://postgres@127.0.0.1:1/unreachable',
      dbAcquireTimeout: '1s',
    });
    for (const init of [{}, { method: 'POST', body: { species: 'x' } }]) {
      const response = await service.api(collection, init);
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-27' });
      expect(response.body.reason).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    }
    expect((await fetch(`${service.healthUrl}/healthcheck`)).status).toBe(503);
  });

  it('answers 503 code 27 at once when PostgreSQL refuses connections (its connection limit reached)', async () => {
    service = await startTestService();
    // A role allowed no connection at all: PostgreSQL refuses each with too_many_connections (53300),
    // as it refuses every client once max_connections or a role's CONNECTION LIMIT is reached.
    const role = `trex_full_${process.pid}_${Date.now()}`;
    const admin = new pg.Client(service.database.url);
    await admin.connect();
    await admin.query(`create role ${role} login password 'full' connection limit 0`);
    try {
      const url = new URL(service.database.url);
      url.username = role;
      url.password = 'full';
      const full = await startTestService({ dbUrl: url.toString(), dbAcquireTimeout: '5s' });
      try {
        const started = Date.now();
        const response = await full.api(collection);
        expect(response.status).toBe(503);
        expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-27' });
        expect(response.body.reason).not.toMatch(/too many|53300/);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await full.stop();
      }
    } finally {
      await admin.query(`drop role ${role}`);
      await admin.end();
    }
  });

  it('recovers by itself when connection slots free up, with no tight retry loop meanwhile', async () => {
    service = await startTestService({ eventResyncInterval: '500ms' });
    const role = `trex_slots_${process.pid}_${Date.now()}`;
    const admin = new pg.Client(service.database.url);
    await admin.connect();
    await admin.query(`create role ${role} login password 'slots' connection limit 0`);
    await admin.query(`grant all on all tables in schema public to ${role}`);
    await admin.query(`grant all on all sequences in schema public to ${role}`);
    try {
      const url = new URL(service.database.url);
      url.username = role;
      url.password = 'slots';
      const limited = await startTestService({ dbUrl: url.toString(), eventResyncInterval: '500ms' });
      try {
        const warningsBefore = limited.logs.filter((line) => line.level === 40).length;
        const refused = await limited.api(collection);
        expect(refused.status).toBe(503);
        // Two seconds of a database that refuses every connection: the controllers, the dispatcher and
        // the listener retry on their intervals and backoff, not in a loop.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const warnings = limited.logs.filter((line) => line.level === 40).length - warningsBefore;
        expect(warnings).toBeLessThan(40);

        // Slots free up (an operator raises the limit, another client goes): served again, no restart.
        await admin.query(`alter role ${role} connection limit 20`);
        const created = await limited.api(collection, { method: 'POST', body: { species: 'Recovered' } });
        expect(created.status).toBe(201);
        await expect
          .poll(
            async () =>
              (
                await admin.query<{ reconciled: boolean }>(
                  'select reconciled_date is not null as reconciled from events where source_id = $1',
                  [created.body.id],
                )
              ).rows[0]?.reconciled,
            { timeout: 15_000 },
          )
          .toBe(true);
      } finally {
        await limited.stop();
      }
    } finally {
      await admin.query(`drop owned by ${role}`);
      await admin.query(`drop role ${role}`);
      await admin.end();
    }
  });

  it('answers 503 code 27 within the acquire timeout when the pool is exhausted, not a hang', async () => {
    service = await startTestService({ dbMaxOpenConnections: '1', dbAcquireTimeout: '300ms' });
    const created = (await service.api(collection, { method: 'POST', body: { species: 'Pooled' } })).body;

    // Hold the row's lock elsewhere: the PATCH then holds the pool's only connection while it waits.
    const holder = await holdRowLock(service.database.url, 'dinosaurs', created.id);
    const patch = service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: { species: 'Waited' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = Date.now();
    const starved = await service.api(`${collection}/${created.id}`);
    expect(starved.status).toBe(503);
    expect(starved.body.code).toBe('rh-trex-27');
    expect(Date.now() - started).toBeLessThan(3000);

    await holder.release();
    expect((await patch).status).toBe(200);
    expect((await service.api(`${collection}/${created.id}`)).body.species).toBe('Waited');
  });
});
