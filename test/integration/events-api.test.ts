import KSUID from 'ksuid';
import { beforeAll, describe, expect, it } from 'vitest';
import { serviceForFile } from '../support/service.ts';

const service = serviceForFile();

const collection = '/api/rh-trex/v1/events';
const rfc3339Millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Events of a source no controller handles, written as they would be after handling: reconciled,
// waiting for a retry an hour away, or given up. No controller will touch any of them during the run,
// so their reconciled_date is known.
interface Fixture {
  id: string;
  source_id: string;
  event_type: string;
  created_at: string;
  reconciled_date: string | null;
  attempts: number;
  last_error: string | null;
  retry: boolean; // next_attempt_at an hour from now
  failed_at: string | null;
}

const fixtures: Fixture[] = [
  ['f1', 'Create', '2020-01-01T00:01:00.000Z', 1, null, false, null],
  ['f1', 'Update', '2020-01-01T00:02:00.000Z', 1, null, false, null],
  ['f2', 'Create', null, 2, 'boom', true, null],
  ['f2', 'Delete', null, 10, 'gave up', false, '2020-01-01T01:00:00.000Z'],
  ['f3', 'Create', '2020-01-01T00:03:00.000Z', 1, null, false, null],
  ['f3', 'Update', null, 1, 'later', true, null],
].map(([source_id, event_type, reconciled_date, attempts, last_error, retry, failed_at], index) => ({
  id: KSUID.randomSync(new Date(Date.UTC(2020, 0, 1, 0, 0, index))).string,
  source_id: source_id as string,
  event_type: event_type as string,
  created_at: `2020-01-01T00:00:0${index}.000Z`,
  reconciled_date: reconciled_date as string | null,
  attempts: attempts as number,
  last_error: last_error as string | null,
  retry: retry as boolean,
  failed_at: failed_at as string | null,
}));

// Fixture ids by their 1-based position in the table above.
function ids(...positions: number[]): string[] {
  return positions.map((position) => (fixtures[position - 1] as Fixture).id);
}

const fossils = `source = 'Fossils'`;

async function list(params: Record<string, string>) {
  const response = await service.api(`${collection}?${new URLSearchParams(params)}`);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

beforeAll(async () => {
  for (const fixture of fixtures) {
    await service.database.query(
      `insert into events (id, source, source_id, event_type, created_at, updated_at, reconciled_date,
         attempts, last_error, next_attempt_at, failed_at)
       values ($1, 'Fossils', $2, $3, $4, $4, $5, $6, $7, case when $8 then now() + interval '1 hour' end, $9)`,
      [
        fixture.id,
        fixture.source_id,
        fixture.event_type,
        fixture.created_at,
        fixture.reconciled_date,
        fixture.attempts,
        fixture.last_error,
        fixture.retry,
        fixture.failed_at,
      ],
    );
  }
});

describe('GET /events', () => {
  it('lists events in the list envelope, oldest first, each as an Event', async () => {
    const body = await list({ search: fossils });
    expect(body).toMatchObject({ kind: 'EventList', page: 1, size: 6, total: 6 });
    expect(body.items.map((item: { id: string }) => item.id)).toEqual(ids(1, 2, 3, 4, 5, 6));
    const fixture = fixtures[2] as Fixture;
    expect(body.items[2]).toMatchObject({
      id: fixture.id,
      kind: 'Event',
      href: `${collection}/${fixture.id}`,
      source: 'Fossils',
      source_id: 'f2',
      event_type: 'Create',
      reconciled_date: null,
      attempts: 2,
      last_error: 'boom',
      next_attempt_at: expect.stringMatching(rfc3339Millis),
      failed_at: null,
      created_at: fixture.created_at,
      updated_at: fixture.created_at,
    });
    expect(body.items[3]).toMatchObject({ failed_at: '2020-01-01T01:00:00.000Z', next_attempt_at: null });
    expect(body.items[0]).toMatchObject({ reconciled_date: '2020-01-01T00:01:00.000Z', last_error: null });
  });

  it('includes the event of a write made a moment ago', async () => {
    const created = await service.api('/api/rh-trex/v1/dinosaurs', {
      method: 'POST',
      body: { species: 'Eventosaurus' },
    });
    expect(created.status).toBe(201);
    const body = await list({});
    expect(body.kind).toBe('EventList');
    expect(body.total).toBeGreaterThanOrEqual(7);
    const mine = body.items.filter((item: { source_id: string }) => item.source_id === created.body.id);
    expect(mine).toEqual([
      expect.objectContaining({
        kind: 'Event',
        source: 'Dinosaurs',
        source_id: created.body.id,
        event_type: 'Create',
        created_at: expect.stringMatching(rfc3339Millis),
      }),
    ]);
    const bySourceId = await list({ search: `source_id = '${created.body.id}'` });
    expect(bySourceId.total).toBe(1);
    expect(bySourceId.items[0].id).toBe(mine[0].id);
  });

  it('searches on source, source_id, event_type and reconciled_date', async () => {
    const cases: [string, string[]][] = [
      [`${fossils} and source_id = 'f2'`, ids(3, 4)],
      [`${fossils} and event_type = 'Update'`, ids(2, 6)],
      [`${fossils} and reconciled_date is null`, ids(3, 4, 6)],
      [`${fossils} and reconciled_date is not null`, ids(1, 2, 5)],
      [`${fossils} and reconciled_date > '2020-01-01T00:01:30Z'`, ids(2, 5)],
      [`source in ('Fossils') and event_type in ('Create', 'Delete') and not source_id = 'f1'`, ids(3, 4, 5)],
      [`events.source_id like 'f%' and events.source = 'Fossils'`, ids(1, 2, 3, 4, 5, 6)],
      [`source = 'fossils'`, []],
      [`source ilike 'FOSSIL%' and (source_id = 'f1' or event_type = 'Delete')`, ids(1, 2, 4)],
    ];
    for (const [search, expected] of cases) {
      const body = await list({ search });
      expect(
        body.items.map((item: { id: string }) => item.id),
        search,
      ).toEqual(expected);
      expect(body.total, search).toBe(expected.length);
    }
  });

  it('rejects searches on fields events do not expose with 400 code 21', async () => {
    for (const search of [`txid = '1'`, `species = 'x'`, `deleted_at is null`, `source = `]) {
      const response = await service.api(`${collection}?${new URLSearchParams({ search })}`);
      expect(response.status, search).toBe(400);
      expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-21' });
    }
  });

  it('orders by orderBy', async () => {
    const descending = await list({ search: fossils, orderBy: 'created_at desc' });
    expect(descending.items.map((item: { id: string }) => item.id)).toEqual(ids(6, 5, 4, 3, 2, 1));
    const bySource = await list({ search: fossils, orderBy: 'source_id DESC, event_type' });
    expect(bySource.items.map((item: { id: string }) => item.id)).toEqual(ids(5, 6, 3, 4, 1, 2));
    const byAttempts = await list({ search: fossils, orderBy: 'attempts desc, created_at asc' });
    expect(byAttempts.items.map((item: { id: string }) => item.id)).toEqual(ids(4, 3, 1, 2, 5, 6));

    const bad = await service.api(`${collection}?orderBy=${encodeURIComponent('txid desc')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'rh-trex-21', reason: "bad order value 'txid desc'" });
  });

  it('projects items onto fields, always with the id', async () => {
    const body = await list({ search: `${fossils} and source_id = 'f1'`, fields: 'source,event_type' });
    expect(body.items).toEqual([
      { id: ids(1)[0], source: 'Fossils', event_type: 'Create' },
      { id: ids(2)[0], source: 'Fossils', event_type: 'Update' },
    ]);
    const bad = await service.api(`${collection}?fields=source,txid`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('rh-trex-8');
    expect(bad.body.reason).toContain('txid');
  });

  it('pages with page and size, reporting the total', async () => {
    expect(await list({ search: fossils, page: '2', size: '2' })).toMatchObject({
      kind: 'EventList',
      page: 2,
      size: 2,
      total: 6,
      items: [expect.objectContaining({ id: ids(3)[0] }), expect.objectContaining({ id: ids(4)[0] })],
    });
    expect(await list({ search: fossils, page: '4', size: '2' })).toEqual({
      kind: 'EventList',
      page: 4,
      size: 0,
      total: 6,
      items: [],
    });
    expect(await list({ search: fossils, size: '0' })).toMatchObject({ size: 0, total: 6, items: [] });
    const bad = await service.api(`${collection}?page=0`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('rh-trex-21');
  });
});

describe('GET /events/{id}', () => {
  it('returns one Event with its href and an ETag, honouring If-None-Match', async () => {
    const fixture = fixtures[3] as Fixture;
    const response = await service.api(`${collection}/${fixture.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: fixture.id,
      kind: 'Event',
      href: `/api/rh-trex/v1/events/${fixture.id}`,
      source: 'Fossils',
      source_id: 'f2',
      event_type: 'Delete',
      reconciled_date: null,
      attempts: 10,
      last_error: 'gave up',
      next_attempt_at: null,
      failed_at: '2020-01-01T01:00:00.000Z',
      created_at: fixture.created_at,
      updated_at: fixture.created_at,
    });
    // The bookkeeping columns of the table are not part of the resource.
    for (const internal of ['txid', 'seq', 'deleted_at']) expect(response.body).not.toHaveProperty(internal);
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    // The same as the list shows.
    const listed = await list({ search: `id = '${fixture.id}'` });
    expect(listed.items).toEqual([response.body]);

    const unchanged = await service.api(`${collection}/${fixture.id}`, {
      headers: { 'if-none-match': etag as string },
    });
    expect(unchanged.status).toBe(304);
    expect((await service.api(`${collection}/${fixture.id}/`)).body).toEqual(response.body);
  });

  it('shows the controllers at work: a dinosaur Create event ends reconciled', async () => {
    const created = await service.api('/api/rh-trex/v1/dinosaurs', {
      method: 'POST',
      body: { species: 'Watchosaurus' },
    });
    const [event] = (await list({ search: `source_id = '${created.body.id}'` })).items;
    const deadline = Date.now() + 15_000;
    let current = event;
    while (current.reconciled_date === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      current = (await service.api(`${collection}/${event.id}`)).body;
    }
    expect(current).toMatchObject({
      id: event.id,
      event_type: 'Create',
      attempts: 1,
      reconciled_date: expect.stringMatching(rfc3339Millis),
    });
  });

  it('answers 404 code 7 for an unknown id', async () => {
    const response = await service.api(`${collection}/x`);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({
      kind: 'Error',
      id: '7',
      code: 'rh-trex-7',
      reason: "Event with id='x' not found",
    });
  });
});

describe('the events API is read-only', () => {
  it('answers 405 code 10 with Allow: GET, HEAD to every write, and changes nothing', async () => {
    const [before] = await service.database.query<{ count: string }>('select count(*) from events');
    const id = ids(1)[0] as string;
    for (const path of [collection, `${collection}/${id}`, `${collection}/`, `${collection}/${id}/`]) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const response = await service.api(path, {
          method,
          body: { source: 'Hacked', source_id: 'h', event_type: 'Create' },
        });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow'), `${method} ${path}`).toBe('GET, HEAD');
        expect(response.body, `${method} ${path}`).toMatchObject({
          kind: 'Error',
          id: '10',
          code: 'rh-trex-10',
        });
      }
    }
    const [after] = await service.database.query<{ count: string }>('select count(*) from events');
    expect(after).toEqual(before);
    expect((await service.api(`${collection}/${id}`)).body.source).toBe('Fossils');
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await service.api(`${collection}/${ids(1)[0]}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });
});

describe('authentication', () => {
  it('requires a token: 401 code 15 without one', async () => {
    for (const path of [collection, `${collection}/${ids(1)[0]}`]) {
      const response = await service.api(path, { token: null });
      expect(response.status, path).toBe(401);
      expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-15' });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.text).not.toContain('Fossils');
    }
  });
});
