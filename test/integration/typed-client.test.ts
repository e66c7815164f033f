import { beforeAll, describe, expect, it } from 'vitest';
import type { TrexClient } from '../../src/client/client.ts';
import { contractClient } from '../support/contract-client.ts';
import { serviceForFile } from '../support/service.ts';

// The API's contract through the typed client generated from the OpenAPI document: metadata, the error
// catalogue, lists, events, preconditions, idempotent creates and refusals. Every response is checked
// against the document (contractClient), so a status, header or shape the document does not describe
// fails here; the Dinosaur CRUD paths are in dinosaurs.test.ts.
const service = serviceForFile();
let api: TrexClient;
beforeAll(async () => {
  api = contractClient(service.apiUrl, await service.keys.mint());
});

const collection = '/api/rh-trex/v1/dinosaurs';
const item = '/api/rh-trex/v1/dinosaurs/{id}';
const tag = `typed${Date.now().toString(36)}`;

async function create(species: string) {
  const { data } = await api.POST(collection, { body: { species } });
  if (!data) throw new Error('POST answered no dinosaur');
  return data;
}

describe('metadata and the error catalogue', () => {
  it('describes the API, its version and collections, publicly', async () => {
    const open = contractClient(service.apiUrl);
    const { data: root } = await open.GET('/api/rh-trex');
    expect(root).toMatchObject({ kind: 'API', id: 'trex', href: '/api/rh-trex' });
    expect(root?.version).not.toBe('');
    const { data: version } = await open.GET('/api/rh-trex/v1');
    expect(version?.collections).toEqual(
      expect.arrayContaining([{ id: 'dinosaurs', href: collection, kind: 'DinosaurList' }]),
    );
  });

  it('lists the catalogue and finds one code, or answers 404', async () => {
    const open = contractClient(service.apiUrl);
    const { data: list } = await open.GET('/api/rh-trex/v1/errors');
    expect(list?.items.map((entry) => entry.code)).toContain('rh-trex-7');
    const { data: entry } = await open.GET('/api/rh-trex/v1/errors/{code}', {
      params: { path: { code: '7' } },
    });
    expect(entry).toMatchObject({ id: '7', code: 'rh-trex-7', href: '/api/rh-trex/v1/errors/7' });
    const { error, response } = await open.GET('/api/rh-trex/v1/errors/{code}', {
      params: { path: { code: '999' } },
    });
    expect(response.status).toBe(404);
    expect(error?.code).toBe('rh-trex-7');
  });
});

describe('lists', () => {
  it('pages, searches and orders', async () => {
    for (const n of [1, 2, 3]) await create(`${tag}_${n}`);
    const { data } = await api.GET(collection, {
      params: { query: { search: `species like '${tag}_%'`, orderBy: 'species desc', page: 1, size: 2 } },
    });
    expect(data).toMatchObject({ kind: 'DinosaurList', page: 1, size: 2, total: 3 });
    expect(data?.items.map((dinosaur) => dinosaur.species)).toEqual([`${tag}_3`, `${tag}_2`]);
    const { data: last } = await api.GET(collection, {
      params: { query: { search: `species like '${tag}_%'`, orderBy: 'species desc', page: 2, size: 2 } },
    });
    expect(last?.items.map((dinosaur) => dinosaur.species)).toEqual([`${tag}_1`]);
  });

  it('refuses a bad list parameter with 400 code 21', async () => {
    const { error, response } = await api.GET(collection, { params: { query: { search: 'species ==' } } });
    expect(response.status).toBe(400);
    expect(error).toMatchObject({
      code: 'rh-trex-21',
      reason: expect.stringMatching(/^Failed to parse search query/),
    });
  });
});

describe('events', () => {
  it("lists a resource's events and gets one", async () => {
    const dinosaur = await create(`${tag}_events`);
    await api.PATCH(item, { params: { path: { id: dinosaur.id } }, body: { species: `${tag}_changed` } });
    const { data } = await api.GET('/api/rh-trex/v1/events', {
      params: { query: { search: `source_id = '${dinosaur.id}'`, orderBy: 'created_at' } },
    });
    expect(data?.items.map((event) => [event.source, event.event_type])).toEqual([
      ['Dinosaurs', 'Create'],
      ['Dinosaurs', 'Update'],
    ]);
    const first = data?.items[0];
    if (!first) throw new Error('no event');
    const { data: event } = await api.GET('/api/rh-trex/v1/events/{id}', {
      params: { path: { id: first.id } },
    });
    // The controllers may reconcile it in between: what an event records of its change does not move.
    const { id, source, source_id, event_type, created_at } = first;
    expect(event).toMatchObject({ id, source, source_id, event_type, created_at });
  });
});

describe('relations', () => {
  it('shows a fossil with its dinosaur, and refuses to delete a dinosaur a fossil references (409)', async () => {
    const dinosaur = await create(`${tag}_fossilised`);
    const { data: fossil, response } = await api.POST('/api/rh-trex/v1/fossils', {
      body: { dinosaur_id: dinosaur.id, site: `${tag} quarry` },
    });
    expect(response.status).toBe(201);
    expect(fossil?.dinosaur).toEqual({ id: dinosaur.id, kind: 'Dinosaur', href: dinosaur.href });
    const refused = await api.DELETE(item, { params: { path: { id: dinosaur.id } } });
    expect(refused.response.status).toBe(409);
    expect(refused.error?.code).toBe('rh-trex-6');
  });
});

describe('preconditions and idempotency', () => {
  it('answers 304 to a matching If-None-Match and 412 to a stale If-Match', async () => {
    const dinosaur = await create(`${tag}_etag`);
    const path = { id: dinosaur.id };
    const { response } = await api.GET(item, { params: { path } });
    const etag = response.headers.get('etag') ?? '';
    const unchanged = await api.GET(item, { params: { path, header: { 'if-none-match': etag } } });
    expect(unchanged.response.status).toBe(304);
    await api.PATCH(item, {
      params: { path, header: { 'if-match': etag } },
      body: { species: `${tag}_etag2` },
    });
    const stale = await api.PATCH(item, {
      params: { path, header: { 'if-match': etag } },
      body: { species: 'x' },
    });
    expect(stale.response.status).toBe(412);
    expect(stale.error?.code).toBe('rh-trex-12');
    const deleted = await api.DELETE(item, { params: { path, header: { 'if-match': etag } } });
    expect(deleted.error?.code).toBe('rh-trex-12');
  });

  it('replays a create with the same Idempotency-Key and refuses it with another body (409)', async () => {
    const header = { 'idempotency-key': `${tag}-key` };
    const first = await api.POST(collection, { params: { header }, body: { species: `${tag}_once` } });
    const again = await api.POST(collection, { params: { header }, body: { species: `${tag}_once` } });
    expect(again.response.status).toBe(201);
    expect(again.data?.id).toBe(first.data?.id);
    const other = await api.POST(collection, { params: { header }, body: { species: `${tag}_other` } });
    expect(other.response.status).toBe(409);
    expect(other.error?.code).toBe('rh-trex-6');
  });
});

describe('refusals', () => {
  it('answers 401 without a token and 400, 415 for bad bodies, each as documented', async () => {
    const anonymous = contractClient(service.apiUrl);
    const unauthenticated = await anonymous.GET(collection);
    expect(unauthenticated.response.status).toBe(401);
    expect(unauthenticated.error?.code).toBe('rh-trex-15');

    const invalid = await api.POST(collection, { body: { species: '' } });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error).toMatchObject({ code: 'rh-trex-8', reason: 'species is required' });

    const unsupported = await api.POST(collection, {
      body: { species: 'x' },
      bodySerializer: () => 'species=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(unsupported.response.status).toBe(415);
    expect(unsupported.error?.code).toBe('rh-trex-13');
  });
});
