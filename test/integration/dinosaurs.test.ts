import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.ts';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.stop();
});

const collection = '/api/rh-trex/v1/dinosaurs';
const ksuid = /^[0-9A-Za-z]{27}$/;
const rfc3339Millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function create(species: string) {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status).toBe(201);
  return response.body;
}

async function eventsFor(id: string) {
  return await service.database.query<{ event_type: string; source: string }>(
    'select event_type, source from events where source_id = $1 order by created_at, event_type',
    [id],
  );
}

describe('POST /dinosaurs', () => {
  it('creates a dinosaur, answers 201 with Location, and records a Create event', async () => {
    const response = await service.api(collection, { method: 'POST', body: { species: 'Tyrannosaurus' } });
    expect(response.status).toBe(201);
    const dinosaur = response.body;
    expect(dinosaur).toEqual({
      id: expect.stringMatching(ksuid),
      kind: 'Dinosaur',
      href: `${collection}/${dinosaur.id}`,
      species: 'Tyrannosaurus',
      created_at: expect.stringMatching(rfc3339Millis),
      updated_at: dinosaur.created_at,
    });
    expect(response.headers.get('location')).toBe(dinosaur.href);
    expect(await eventsFor(dinosaur.id)).toEqual([{ event_type: 'Create', source: 'Dinosaurs' }]);
  });

  it('ignores read-only fields a client sends back', async () => {
    const response = await service.api(collection, {
      method: 'POST',
      body: {
        species: 'Raptor',
        kind: 'Other',
        href: '/x',
        created_at: '2000-01-01T00:00:00Z',
        updated_at: 'x',
        id: '',
      },
    });
    expect(response.status).toBe(201);
    expect(response.body.kind).toBe('Dinosaur');
    expect(response.body.created_at).not.toBe('2000-01-01T00:00:00.000Z');
  });
});

describe('GET /dinosaurs/{id}', () => {
  it('returns the same representation as POST, timestamps included', async () => {
    const created = await create('Stegosaurus');
    const response = await service.api(`${collection}/${created.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created);
  });

  it('answers 404 code 7 for an unknown id', async () => {
    const response = await service.api(`${collection}/nope`);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({
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
    const response = await service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: { species: 'Brachiosaurus' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: created.id,
      species: 'Brachiosaurus',
      created_at: created.created_at,
    });
    expect(response.body.updated_at > created.updated_at).toBe(true);
    expect((await service.api(`${collection}/${created.id}`)).body).toEqual(response.body);
    expect((await eventsFor(created.id)).map((event) => event.event_type).sort()).toEqual([
      'Create',
      'Update',
    ]);
  });

  it('writes nothing and records no event when nothing changes', async () => {
    const created = await create('Ankylosaurus');
    for (const body of [{}, { species: 'Ankylosaurus' }]) {
      const response = await service.api(`${collection}/${created.id}`, { method: 'PATCH', body });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(created);
    }
    expect(await eventsFor(created.id)).toEqual([{ event_type: 'Create', source: 'Dinosaurs' }]);
  });

  it('accepts application/merge-patch+json', async () => {
    const created = await create('Iguanodon');
    const response = await service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ species: 'Parasaurolophus' }),
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    });
    expect(response.status).toBe(200);
    expect(response.body.species).toBe('Parasaurolophus');
  });

  it('answers 404 for a good body on an unknown id', async () => {
    const response = await service.api(`${collection}/missing`, { method: 'PATCH', body: { species: 'x' } });
    expect(response.status).toBe(404);
    expect(response.body.reason).toBe("Dinosaur with id='missing' not found");
  });
});

describe('DELETE /dinosaurs/{id}', () => {
  it('soft-deletes: 204 with no body, then 404, a Delete event, and the row kept with deleted_at', async () => {
    const created = await create('Triceratops');
    const response = await service.api(`${collection}/${created.id}`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await service.api(`${collection}/${created.id}`)).status).toBe(404);
    expect(
      (await service.api(`${collection}/${created.id}`, { method: 'PATCH', body: { species: 'x' } })).status,
    ).toBe(404);
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
    await service.api(`${collection}/${created.id}`, { method: 'DELETE' });
    for (const id of [created.id, 'unknown']) {
      const response = await service.api(`${collection}/${id}`, { method: 'DELETE' });
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('rh-trex-7');
    }
    expect((await eventsFor(created.id)).map((event) => event.event_type).sort()).toEqual([
      'Create',
      'Delete',
    ]);
  });
});

describe('methods', () => {
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
