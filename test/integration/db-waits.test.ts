import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { advisoryLockKey } from '../../src/db/advisory-lock.ts';
import { type ApiResponse, serviceForFile } from '../support/service.ts';

// Every request gets an answer in time, whatever the database is doing (docs/operations.md#waits-on-the-database):
// a lock another session holds, a statement that runs too long, a pool with no free connection. Each is
// answered 503 code 27 with Retry-After well before --http-write-timeout, and logged; the service
// recovers by itself once the database does.
const limits = {
  dbLockTimeout: '300ms',
  dbQueryTimeout: '1500ms',
  dbAcquireTimeout: '500ms',
  dbMaxOpenConnections: '2',
  httpWriteTimeout: '5s',
};
const service = serviceForFile(limits);
const collection = '/api/rh-trex/v1/dinosaurs';

// Another session of the database, as a migration or an operator is: a transaction held open.
async function holding<T>(statement: string, values: unknown[], work: () => Promise<T>): Promise<T> {
  const holder = new pg.Client(service.database.url);
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(statement, values);
    return await work();
  } finally {
    await holder.query('rollback');
    await holder.end();
  }
}

async function timed(request: Promise<ApiResponse>): Promise<{ response: ApiResponse; ms: number }> {
  const started = Date.now();
  const response = await request;
  return { response, ms: Date.now() - started };
}

function expectRetryLater(response: ApiResponse, reason: RegExp): void {
  expect(response.status, response.text).toBe(503);
  expect(response.body).toMatchObject({ kind: 'Error', id: '27', code: 'rh-trex-27' });
  expect(response.body.reason).toMatch(reason);
  expect(response.headers.get('retry-after')).toBe('1');
}

function loggedStatus(operationId: string | null): unknown {
  return service.logs.find((line) => line.msg === 'request' && line.operation_id === operationId)?.status;
}

async function createDinosaur(): Promise<{ id: string }> {
  const created = await service.api(collection, { method: 'POST', body: { species: 'Waiting' } });
  expect(created.status).toBe(201);
  return created.body;
}

describe('a request waiting on the database is answered in time', () => {
  it('a read blocked by a table lock: 503 at --db-query-timeout, logged, then served once the lock goes', async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding('lock table dinosaurs in access exclusive mode', [], () =>
      timed(service.api(`${collection}/${id}`)),
    );
    expectRetryLater(response, /--db-query-timeout/);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(4000); // well before the 5 s write timeout
    await expect.poll(() => loggedStatus(response.headers.get('x-operation-id'))).toBe(503);
    expect((await service.api(`${collection}/${id}`)).status).toBe(200);
  });

  it('a write in a transaction blocked by a table lock: 503 at --db-lock-timeout, far sooner than the query timeout', async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding('lock table dinosaurs in access exclusive mode', [], () =>
      timed(service.api(`${collection}/${id}`, { method: 'DELETE' })),
    );
    expectRetryLater(response, /--db-lock-timeout/);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1400);
    await expect.poll(() => loggedStatus(response.headers.get('x-operation-id'))).toBe(503);
    expect((await service.api(`${collection}/${id}`)).status).toBe(200);
  });

  it('a one-statement write (a plain PATCH) blocked by a table lock: 503 at --db-query-timeout, nothing written', async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding('lock table dinosaurs in access exclusive mode', [], () =>
      timed(service.api(`${collection}/${id}`, { method: 'PATCH', body: { species: 'Blocked' } })),
    );
    expectRetryLater(response, /--db-query-timeout/);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(4000);
    expect((await service.api(`${collection}/${id}`)).body.species).toBe('Waiting');
    const after = await service.api(`${collection}/${id}`, { method: 'PATCH', body: { species: 'Free' } });
    expect(after.status).toBe(200);
  });

  it('a write waiting for another writer of the same row: 503 at --db-lock-timeout, and the row unchanged', async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding(
      'select pg_advisory_xact_lock($1::int4, $2::int4)',
      advisoryLockKey('dinosaurs', id),
      () => timed(service.api(`${collection}/${id}`, { method: 'DELETE' })),
    );
    expectRetryLater(response, /--db-lock-timeout/);
    expect(ms).toBeLessThan(1400);
    expect((await service.api(`${collection}/${id}`)).status).toBe(200);
  });

  it("a plain PATCH waiting for the row's turn (another writer holds it): 503 at --db-query-timeout, nothing written", async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding(
      'select pg_advisory_xact_lock($1::int4, $2::int4)',
      advisoryLockKey('dinosaurs', id),
      () => timed(service.api(`${collection}/${id}`, { method: 'PATCH', body: { species: 'Blocked' } })),
    );
    expectRetryLater(response, /--db-query-timeout/);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(4000);
    expect((await service.api(`${collection}/${id}`)).body.species).toBe('Waiting');
  });

  it('a request finding no free connection: 503 at --db-acquire-timeout', async () => {
    const { id } = await createDinosaur();
    const { response, ms } = await holding('lock table dinosaurs in access exclusive mode', [], async () => {
      // Both pooled connections wait on the lock (until the query timeout) ...
      const waiting = [1, 2].map(() => service.api(`${collection}/${id}`));
      await new Promise((done) => setTimeout(done, 200));
      // ... so this one gets none.
      const answered = await timed(service.api('/api/rh-trex/v1/fossils'));
      await Promise.all(waiting);
      return answered;
    });
    expectRetryLater(response, /unavailable/);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1400);
    await expect.poll(() => loggedStatus(response.headers.get('x-operation-id'))).toBe(503);
    expect((await service.api('/api/rh-trex/v1/fossils')).status).toBe(200);
  });
});
