import { beforeAll, describe, expect, it } from 'vitest';
import type { TrexClient } from '../../src/client/client.ts';
import { contractClient } from '../support/contract-client.ts';
import { serviceForFile } from '../support/service.ts';

// The Dinosaur routes through the typed client generated from the OpenAPI document: the compiler checks
// paths, parameters and bodies, and contractClient checks each response against the document.
const service = serviceForFile();
let api: TrexClient;
beforeAll(async () => {
  api = contractClient(service.apiUrl, await service.keys.mint());
});

const collection = '/api/rh-trex/v1/dinosaurs';
const item = '/api/rh-trex/v1/dinosaurs/{id}';
const ksuid = /^[0-9A-Za-z]{27}$/;
const rfc3339Millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const at = (id: string) => ({ params: { path: { id } } });

async function create(species: string) {
  const { data, response } = await api.POST(collection, { body: { species } });
  expect(response.status).toBe(201);
  if (!data) throw new Error('POST answered no dinosaur');
  return data;
}

async function eventsFor(id: string) {
  return await service.database.query<{ event_type: string; source: string }>(
    'select event_type, source from events where source_id = $1 order by created_at, event_type',
    [id],
  );
}

describe('POST /dinosaurs', () => {
  it('creates a dinosaur, answers 201 with Location, and records a Create event', async () => {
    const { data: dinosaur, response } = await api.POST(collection, { body: { species: 'Tyrannosaurus' } });
    expect(response.status).toBe(201);
    expect(dinosaur).toEqual({
      id: expect.stringMatching(ksuid),
      kind: 'Dinosaur',
      href: `${collection}/${dinosaur?.id}`,
      species: 'Tyrannosaurus',
      created_at: expect.stringMatching(rfc3339Millis),
      updated_at: dinosaur?.created_at,
    });
    expect(response.headers.get('location')).toBe(dinosaur?.href);
    expect(await eventsFor(dinosaur?.id ?? '')).toEqual([{ event_type: 'Create', source: 'Dinosaurs' }]);
  });

  it('ignores read-only fields a client sends back', async () => {
    // Read-only properties are not in the create body's type: a client that read a resource sends them.
    const readBack = {
      kind: 'Other',
      href: '/x',
      created_at: '2000-01-01T00:00:00Z',
      updated_at: 'x',
      id: '',
    };
    const { data, response } = await api.POST(collection, {
      body: { species: 'Raptor', ...readBack } as { species: string },
    });
    expect(response.status).toBe(201);
    expect(data?.kind).toBe('Dinosaur');
    expect(data?.created_at).not.toBe('2000-01-01T00:00:00.000Z');
  });
});

describe('GET /dinosaurs/{id}', () => {
  it('returns the same representation as POST, timestamps included', async () => {
    const created = await create('Stegosaurus');
    const { data, response } = await api.GET(item, at(created.id));
    expect(response.status).toBe(200);
    expect(data).toEqual(created);
  });

  it('answers 404 code 7 for an unknown id', async () => {
    const { error, response } = await api.GET(item, at('nope'));
    expect(response.status).toBe(404);
    expect(error).toMatchObject({
      kind: 'Error',
      id: '7',
      code: 'rh-trex-7',
      reason: "Dinosaur with id='nope' not found",
    });
  });

  it('accepts a trailing slash', async () => {
    const created = await create('Slashosaurus');
    expect((await service.api(`${collection}/${created.id}/`)).body).toEqual(created);
    expect((await service.api(`${collection}/`)).status).toBe(200);
  });
});

describe('PATCH /dinosaurs/{id}', () => {
  it('changes the given fields, bumps updated_at and records an Update event', async () => {
    const created = await create('Diplodocus');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { data, response } = await api.PATCH(item, {
      ...at(created.id),
      body: { species: 'Brachiosaurus' },
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id: created.id, species: 'Brachiosaurus', created_at: created.created_at });
    expect((data?.updated_at ?? '') > created.updated_at).toBe(true);
    expect((await api.GET(item, at(created.id))).data).toEqual(data);
    expect((await eventsFor(created.id)).map((event) => event.event_type).sort()).toEqual([
      'Create',
      'Update',
    ]);
  });

  it('writes nothing and records no event when nothing changes', async () => {
    const created = await create('Ankylosaurus');
    for (const body of [{}, { species: 'Ankylosaurus' }]) {
      const { data, response } = await api.PATCH(item, { ...at(created.id), body });
      expect(response.status).toBe(200);
      expect(data).toEqual(created);
    }
    expect(await eventsFor(created.id)).toEqual([{ event_type: 'Create', source: 'Dinosaurs' }]);
  });

  it('accepts application/merge-patch+json', async () => {
    const created = await create('Iguanodon');
    const { data, response } = await api.PATCH(item, {
      ...at(created.id),
      body: { species: 'Parasaurolophus' },
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    });
    expect(response.status).toBe(200);
    expect(data?.species).toBe('Parasaurolophus');
  });

  it('answers 404 for a good body on an unknown id', async () => {
    const { error, response } = await api.PATCH(item, { ...at('missing'), body: { species: 'x' } });
    expect(response.status).toBe(404);
    expect(error?.reason).toBe("Dinosaur with id='missing' not found");
  });
});

describe('DELETE /dinosaurs/{id}', () => {
  it('soft-deletes: 204 with no body, then 404, a Delete event, and the row kept with deleted_at', async () => {
    const created = await create('Triceratops');
    const { response } = await api.DELETE(item, at(created.id));
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect((await api.GET(item, at(created.id))).response.status).toBe(404);
    expect((await api.PATCH(item, { ...at(created.id), body: { species: 'x' } })).response.status).toBe(404);
    const [row] = await service.database.query('select deleted_at from dinosaurs where id = $1', [
      created.id,
    ]);
    expect(row?.deleted_at).toBeInstanceOf(Date);
    expect((await eventsFor(created.id)).map((event) => event.event_type).sort()).toEqual([
      'Create',
      'Delete',
    ]);
  });

  it('answers 404 code 7 for an unknown or already deleted id', async () => {
    const created = await create('Pachycephalosaurus');
    await api.DELETE(item, at(created.id));
    for (const id of [created.id, 'unknown']) {
      const { error, response } = await api.DELETE(item, at(id));
      expect(response.status).toBe(404);
      expect(error?.code).toBe('rh-trex-7');
    }
    expect((await eventsFor(created.id)).map((event) => event.event_type).sort()).toEqual([
      'Create',
      'Delete',
    ]);
  });
});

describe('methods', () => {
  // Methods a path does not serve are not operations of the document: these go around the typed client.
  it('answers 405 code 10 with Allow and an Error body for other methods on known paths', async () => {
    const created = await create('Allosaurus');
    const cases = [
      { path: collection, method: 'PUT', allow: 'GET, POST, HEAD' },
      { path: collection, method: 'DELETE', allow: 'GET, POST, HEAD' },
      { path: `${collection}/${created.id}`, method: 'POST', allow: 'GET, PATCH, DELETE, HEAD' },
      { path: `${collection}/${created.id}`, method: 'PUT', allow: 'GET, PATCH, DELETE, HEAD' },
    ];
    for (const { path, method, allow } of cases) {
      const response = await service.api(path, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-10' });
    }
  });
});
