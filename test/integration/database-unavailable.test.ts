import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { advisoryLockKey } from '../../src/db/advisory-lock.ts';
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

  it('answers 503 code 27 within the acquire timeout when the pool is exhausted, not a hang', async () => {
    service = await startTestService({ dbMaxOpenConnections: '1', dbAcquireTimeout: '300ms' });
    const created = (await service.api(collection, { method: 'POST', body: { species: 'Pooled' } })).body;

    // Hold the row's lock elsewhere: the PATCH then holds the pool's only connection while it waits.
    const holder = new pg.Client(service.database.url);
    await holder.connect();
    await holder.query('begin');
    await holder.query(
      'select pg_advisory_xact_lock($1::int4, $2::int4)',
      advisoryLockKey('dinosaurs', created.id),
    );
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

    await holder.query('commit');
    await holder.end();
    expect((await patch).status).toBe(200);
    expect((await service.api(`${collection}/${created.id}`)).body.species).toBe('Waited');
  });
});
