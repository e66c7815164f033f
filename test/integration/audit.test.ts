import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { callApi, serviceForFile, startLoggedService } from '../support/service.ts';

const apiBase = '/api/rh-trex/v1';

async function eventsOf(
  api: (path: string) => Promise<{ status: number; body: { items: unknown[] } }>,
  id: string,
) {
  const response = await api(
    `${apiBase}/events?${new URLSearchParams({ search: `source_id = '${id}'`, orderBy: 'created_at' })}`,
  );
  expect(response.status).toBe(200);
  return response.body.items;
}

describe('the audit trail: who caused each event, through which request', () => {
  const service = serviceForFile();

  it("records the token's username and the request's operation id on every event", async () => {
    const alice = await service.keys.mint({ username: 'alice' });
    const bob = await service.keys.mint({ username: 'bob' });
    const created = await service.api(`${apiBase}/dinosaurs`, {
      method: 'POST',
      body: { species: 'audited' },
      token: alice,
      headers: { 'x-operation-id': 'create-by-alice' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const patched = await service.api(`${apiBase}/dinosaurs/${id}`, {
      method: 'PATCH',
      body: { species: 'audited again' },
      token: bob,
    });
    expect(patched.status).toBe(200);
    const deleted = await service.api(`${apiBase}/dinosaurs/${id}`, { method: 'DELETE', token: alice });
    expect(deleted.status).toBe(204);

    expect(await eventsOf((path) => service.api(path), id)).toMatchObject([
      { event_type: 'Create', actor: 'alice', operation_id: 'create-by-alice' },
      { event_type: 'Update', actor: 'bob', operation_id: patched.headers.get('x-operation-id') },
      { event_type: 'Delete', actor: 'alice', operation_id: deleted.headers.get('x-operation-id') },
    ]);
  });

  it('is searchable like any list: by actor and by operation id', async () => {
    const carol = await service.keys.mint({ preferred_username: 'carol', username: undefined });
    const created = await service.api(`${apiBase}/dinosaurs`, {
      method: 'POST',
      body: { species: 'by carol' },
      token: carol,
      headers: { 'x-operation-id': 'carol-op-1' },
    });
    expect(created.status).toBe(201);
    const byActor = await service.api(
      `${apiBase}/events?${new URLSearchParams({ search: "actor = 'carol'" })}`,
    );
    expect(byActor.body.items.map((event: { source_id: string }) => event.source_id)).toEqual([
      created.body.id,
    ]);
    const byOperation = await service.api(
      `${apiBase}/events?${new URLSearchParams({ search: "operation_id = 'carol-op-1'", fields: 'actor,source_id' })}`,
    );
    expect(byOperation.body.items).toEqual([
      { id: expect.any(String), actor: 'carol', source_id: created.body.id },
    ]);
    const one = await service.api(`${apiBase}/events/${byOperation.body.items[0].id}`);
    expect(one.body).toMatchObject({ actor: 'carol', operation_id: 'carol-op-1' });
  });
});

describe('the audit trail with authentication off', () => {
  let database: TestDatabase;
  let stop: () => Promise<void>;
  let apiUrl: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    const { service } = await startLoggedService({ dbUrl: database.url, enableJwt: false });
    apiUrl = service.apiUrl;
    stop = async () => {
      await service.stop();
      await database.drop();
    };
  });
  afterAll(async () => {
    await stop?.();
  });

  it('records anonymous as the actor, with the operation id', async () => {
    const created = await callApi(apiUrl, `${apiBase}/dinosaurs`, {
      method: 'POST',
      body: { species: 'anonymous' },
      headers: { 'x-operation-id': 'anonymous-op' },
    });
    expect(created.status).toBe(201);
    expect(await eventsOf((path) => callApi(apiUrl, path, {}), created.body.id)).toMatchObject([
      { event_type: 'Create', actor: 'anonymous', operation_id: 'anonymous-op' },
    ]);
  });
});
