import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/pool.ts';
import { forgetOldKeys } from '../../src/kinds/framework/idempotency.ts';
import { rawRequest } from '../support/raw-http.ts';
import { type ApiInit, serviceForFile, startTestService, type TestService } from '../support/service.ts';

const service = serviceForFile();

const collection = '/api/rh-trex/v1/dinosaurs';
const strongTag = /^"[!#-~]+"$/; // a quoted opaque tag, not W/

// A species no other test uses, so rows can be counted by it.
const unique = (name: string): string => `${name}-${randomBytes(5).toString('hex')}`;

async function create(species: string, init: ApiInit = {}) {
  const response = await service.api(collection, { method: 'POST', body: { species }, ...init });
  expect(response.status).toBe(201);
  return response;
}

async function read(id: string, headers: Record<string, string> = {}) {
  return await service.api(`${collection}/${id}`, { headers });
}

async function patch(id: string, body: unknown, headers: Record<string, string> = {}) {
  return await service.api(`${collection}/${id}`, { method: 'PATCH', body, headers });
}

async function remove(id: string, headers: Record<string, string> = {}) {
  return await service.api(`${collection}/${id}`, { method: 'DELETE', headers });
}

async function storedRow(id: string) {
  const [row] = await service.database.query('select * from dinosaurs where id = $1', [id]);
  return row;
}

async function eventTypes(id: string): Promise<string[]> {
  const rows = await service.database.query<{ event_type: string }>(
    'select event_type from events where source_id = $1 order by txid, seq',
    [id],
  );
  return rows.map((row) => row.event_type);
}

async function rowsOf(species: string) {
  return await service.database.query<{ id: string }>('select id from dinosaurs where species = $1', [
    species,
  ]);
}

function expectError(response: { status: number; body: unknown }, status: number, code: number): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ kind: 'Error', id: String(code), code: `rh-trex-${code}` });
}

describe('ETag (docs/events.md#optimistic-concurrency)', () => {
  it('POST, GET and PATCH carry a strong ETag that names the stored version', async () => {
    const created = await create(unique('Etagosaurus'));
    const first = created.headers.get('etag');
    expect(first).toMatch(strongTag);

    const fetched = await read(created.body.id);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('etag')).toBe(first);

    const patched = await patch(created.body.id, { species: unique('Renamed') });
    expect(patched.status).toBe(200);
    const second = patched.headers.get('etag');
    expect(second).toMatch(strongTag);
    expect(second).not.toBe(first);
    expect((await read(created.body.id)).headers.get('etag')).toBe(second);

    const again = await patch(created.body.id, { species: unique('Again') });
    const third = again.headers.get('etag');
    expect(third).toMatch(strongTag);
    expect(new Set([first, second, third]).size).toBe(3);
    expect((await read(created.body.id)).headers.get('etag')).toBe(third);
  });

  it('keeps the ETag when a PATCH changes nothing', async () => {
    const species = unique('Steadysaurus');
    const created = await create(species);
    const tag = created.headers.get('etag');
    for (const body of [{}, { species }]) {
      const response = await patch(created.body.id, body);
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe(tag);
    }
    expect((await read(created.body.id)).headers.get('etag')).toBe(tag);
  });

  it('applies a PATCH whose If-Match holds', async () => {
    const created = await create(unique('Matchosaurus'));
    const tag = created.headers.get('etag') ?? '';
    const species = unique('Matched');
    const response = await patch(created.body.id, { species }, { 'if-match': tag });
    expect(response.status).toBe(200);
    expect(response.body.species).toBe(species);
    expect(await eventTypes(created.body.id)).toEqual(['Create', 'Update']);
  });

  it('refuses a PATCH with a stale If-Match: 412 code 12, and nothing changes', async () => {
    const created = await create(unique('Stalosaurus'));
    const stale = created.headers.get('etag') ?? '';
    const current = await patch(created.body.id, { species: unique('Moved') });
    expect(current.status).toBe(200);
    const before = await storedRow(created.body.id);

    for (const body of [{ species: unique('Lost') }, { species: current.body.species }, {}]) {
      const response = await patch(created.body.id, body, { 'if-match': stale });
      expectError(response, 412, 12);
    }
    expect(await storedRow(created.body.id)).toEqual(before);
    expect((await read(created.body.id)).body).toEqual(current.body);
    expect(await eventTypes(created.body.id)).toEqual(['Create', 'Update']);
  });

  it('applies a DELETE whose If-Match holds, and refuses a stale one with 412 and no change', async () => {
    const created = await create(unique('Deletosaurus'));
    const stale = created.headers.get('etag') ?? '';
    const current = await patch(created.body.id, { species: unique('Changed') });
    const fresh = current.headers.get('etag') ?? '';

    expectError(await remove(created.body.id, { 'if-match': stale }), 412, 12);
    expect((await read(created.body.id)).status).toBe(200);
    expect((await storedRow(created.body.id))?.deleted_at).toBeNull();
    expect(await eventTypes(created.body.id)).toEqual(['Create', 'Update']);

    const response = await remove(created.body.id, { 'if-match': fresh });
    expect(response.status).toBe(204);
    expect((await read(created.body.id)).status).toBe(404);
    expect(await eventTypes(created.body.id)).toEqual(['Create', 'Update', 'Delete']);
  });

  it('matches any existing row with If-Match: *', async () => {
    const created = await create(unique('Starosaurus'));
    await patch(created.body.id, { species: unique('Changed') });
    const species = unique('Starred');
    const patched = await patch(created.body.id, { species }, { 'if-match': '*' });
    expect(patched.status).toBe(200);
    expect(patched.body.species).toBe(species);
    expect((await remove(created.body.id, { 'if-match': '*' })).status).toBe(204);
    expect((await read(created.body.id)).status).toBe(404);
  });

  it('never matches a weak tag in If-Match (strong comparison)', async () => {
    const created = await create(unique('Weakosaurus'));
    const tag = created.headers.get('etag') ?? '';
    expectError(await patch(created.body.id, { species: unique('No') }, { 'if-match': `W/${tag}` }), 412, 12);
    expectError(await remove(created.body.id, { 'if-match': `W/${tag}` }), 412, 12);
    expect((await read(created.body.id)).body).toEqual(created.body);
    expect(await eventTypes(created.body.id)).toEqual(['Create']);
  });

  it('succeeds when one tag of an If-Match list matches, and fails when none does', async () => {
    const created = await create(unique('Listosaurus'));
    const tag = created.headers.get('etag') ?? '';
    expectError(
      await patch(created.body.id, { species: unique('No') }, { 'if-match': '"nope", "other"' }),
      412,
      12,
    );
    const species = unique('Listed');
    const response = await patch(created.body.id, { species }, { 'if-match': `"nope", ${tag}, "other"` });
    expect(response.status).toBe(200);
    expect(response.body.species).toBe(species);
    const next = response.headers.get('etag') ?? '';
    expect((await remove(created.body.id, { 'if-match': `"x",${next}` })).status).toBe(204);
  });

  it('answers a GET whose If-None-Match matches with 304, no body and the ETag', async () => {
    const created = await create(unique('Cachosaurus'));
    const tag = created.headers.get('etag') ?? '';
    for (const ifNoneMatch of [tag, '*', `W/${tag}`, `"nope", ${tag}`]) {
      const response = await read(created.body.id, { 'if-none-match': ifNoneMatch });
      expect(response.status, ifNoneMatch).toBe(304);
      expect(response.text, ifNoneMatch).toBe('');
      expect(response.headers.get('etag'), ifNoneMatch).toBe(tag);
    }
  });

  it('answers a GET whose If-None-Match does not match with 200 and the resource', async () => {
    const created = await create(unique('Freshosaurus'));
    const stale = created.headers.get('etag') ?? '';
    const patched = await patch(created.body.id, { species: unique('Newer') });
    const fresh = patched.headers.get('etag');
    for (const ifNoneMatch of [stale, `W/${stale}`, '"nope"']) {
      const response = await read(created.body.id, { 'if-none-match': ifNoneMatch });
      expect(response.status, ifNoneMatch).toBe(200);
      expect(response.body, ifNoneMatch).toEqual(patched.body);
      expect(response.headers.get('etag'), ifNoneMatch).toBe(fresh);
    }
  });

  it('lets exactly one of two concurrent PATCHes with the same If-Match win', async () => {
    const other = await service.keys.mint({ username: 'second-client' });
    for (let round = 0; round < 5; round++) {
      const created = await create(unique('Racosaurus'));
      const [first, second] = await Promise.all([read(created.body.id), read(created.body.id)]);
      const tag = first?.headers.get('etag') ?? '';
      expect(second?.headers.get('etag')).toBe(tag);

      const species = [unique('Left'), unique('Right')];
      const responses = await Promise.all([
        service.api(`${collection}/${created.body.id}`, {
          method: 'PATCH',
          body: { species: species[0] },
          headers: { 'if-match': tag },
        }),
        service.api(`${collection}/${created.body.id}`, {
          method: 'PATCH',
          body: { species: species[1] },
          headers: { 'if-match': tag },
          token: other,
        }),
      ]);
      expect(responses.map((response) => response.status).sort()).toEqual([200, 412]);
      const winner = responses.findIndex((response) => response.status === 200);
      const loser = responses[1 - winner];
      expect(loser?.body).toMatchObject({ code: 'rh-trex-12' });
      expect((await read(created.body.id)).body.species).toBe(species[winner]);
      expect(await eventTypes(created.body.id)).toEqual(['Create', 'Update']);
    }
  });
});

describe('Idempotency-Key (docs/events.md#idempotent-creates)', () => {
  const post = (species: string, key: string, init: ApiInit = {}) =>
    service.api(collection, {
      method: 'POST',
      body: { species },
      ...init,
      headers: { 'idempotency-key': key, ...init.headers },
    });

  it('answers a retry with the same key and body with the original response, creating nothing', async () => {
    const species = unique('Retrosaurus');
    const key = unique('k1');
    const first = await post(species, key);
    expect(first.status).toBe(201);
    const retry = await post(species, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await rowsOf(species)).toEqual([{ id: first.body.id }]);
    expect(await eventTypes(first.body.id)).toEqual(['Create']);
  });

  it('treats the body by its values: read-only fields and key order do not make it another request', async () => {
    const species = unique('Samesaurus');
    const key = unique('k');
    const first = await service.api(collection, {
      method: 'POST',
      body: { species },
      headers: { 'idempotency-key': key },
    });
    const retry = await service.api(collection, {
      method: 'POST',
      body: { kind: 'Dinosaur', species, href: '/x' },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(await rowsOf(species)).toHaveLength(1);
  });

  it('answers the same key with a different body with 409 code 6, creating nothing', async () => {
    const species = unique('Firstosaurus');
    const key = unique('k1');
    const first = await post(species, key);
    expect(first.status).toBe(201);
    const [{ count: eventsBefore }] = (await service.database.query('select count(*)::int from events')) as [
      { count: number },
    ];

    const other = unique('Secondosaurus');
    const conflict = await post(other, key);
    expectError(conflict, 409, 6);
    expect(await rowsOf(other)).toEqual([]);
    const [{ count: eventsAfter }] = (await service.database.query('select count(*)::int from events')) as [
      { count: number },
    ];
    expect(eventsAfter).toBe(eventsBefore);

    // The key still answers its own body with the original.
    const retry = await post(species, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
  });

  it('creates a new row for a different key', async () => {
    const species = unique('Twinosaurus');
    const first = await post(species, unique('k1'));
    const second = await post(species, unique('k2'));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect((await rowsOf(species)).map((row) => row.id).sort()).toEqual(
      [first.body.id, second.body.id].sort(),
    );
  });

  it('keeps the keys of different callers apart', async () => {
    const other = await service.keys.mint({ username: 'other' });
    const species = unique('Callerosaurus');
    const key = unique('shared');
    const mine = await post(species, key);
    const theirs = await post(species, key, { token: other });
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);

    // Another body under the same key is no conflict for a third caller either.
    const third = await service.keys.mint({ username: 'third' });
    const different = unique('Differentosaurus');
    const thirds = await post(different, key, { token: third });
    expect(thirds.status).toBe(201);
    expect(thirds.body.species).toBe(different);

    // Each caller's retry replays its own create.
    expect((await post(species, key)).body.id).toBe(mine.body.id);
    expect((await post(species, key, { token: other })).body.id).toBe(theirs.body.id);
    expect((await rowsOf(species)).map((row) => row.id).sort()).toEqual(
      [mine.body.id, theirs.body.id].sort(),
    );
    expect(await rowsOf(different)).toEqual([{ id: thirds.body.id }]);
  });

  it('creates one row and one event for 10 concurrent POSTs with one key', async () => {
    const species = unique('Stampedosaurus');
    const key = unique('burst');
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(species, key)));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(201));
    const ids = new Set(responses.map((response) => response.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    for (const response of responses) expect(response.body).toEqual(responses[0]?.body);
    expect(await rowsOf(species)).toEqual([{ id }]);
    expect(await eventTypes(id)).toEqual(['Create']);
  });

  it('refuses an invalid key with 400 code 8, creating nothing', async () => {
    const species = unique('Badkeyosaurus');
    for (const key of ['x'.repeat(256), 'y'.repeat(300), 'has space', 'tab\there']) {
      expectError(await post(species, key), 400, 8);
    }
    // Characters outside visible ASCII, and an empty value, sent as raw bytes.
    for (const key of ['caf\u00e9', '', 'a\u00a0b']) {
      const response = await rawRequest(`${service.apiUrl}${collection}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await service.keys.mint()}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ species }),
      });
      expect(response.status, JSON.stringify(key)).toBe(400);
      expect(JSON.parse(response.body.toString())).toMatchObject({ code: 'rh-trex-8' });
    }
    expect(await rowsOf(species)).toEqual([]);

    // The longest valid key, of every visible ASCII character.
    const visible = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    const longest = (visible + visible + visible).slice(0, 255);
    const accepted = await post(species, longest);
    expect(accepted.status).toBe(201);
    expect((await post(species, longest)).body.id).toBe(accepted.body.id);
    expect(await rowsOf(species)).toHaveLength(1);
  });

  it('replays the original response even after the resource changed', async () => {
    const species = unique('Originalosaurus');
    const key = unique('k');
    const first = await post(species, key);
    expect(first.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 5)); // so the PATCH's updated_at differs
    const patched = await patch(first.body.id, { species: unique('Patchedosaurus') });
    expect(patched.status).toBe(200);
    expect(patched.body.updated_at).not.toBe(first.body.updated_at);

    const retry = await post(species, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.body.species).toBe(species);
    expect(retry.body.updated_at).toBe(first.body.updated_at);
    // The replay changed nothing.
    expect((await read(first.body.id)).body).toEqual(patched.body);
    expect(await eventTypes(first.body.id)).toEqual(['Create', 'Update']);
  });

  it('forgets keys older than 24 hours, keeping younger ones', async () => {
    const species = unique('Oldkeyosaurus');
    const oldKey = unique('old');
    const youngKey = unique('young');
    const old = await post(species, oldKey);
    const young = await post(species, youngKey);
    await service.database.query(
      `update idempotency_keys set created_at = now() - interval '25 hours' where key = $1`,
      [oldKey],
    );
    await service.database.query(
      `update idempotency_keys set created_at = now() - interval '23 hours' where key = $1`,
      [youngKey],
    );

    const handle = openDatabase(
      { url: service.database.url, maxConnections: 1, acquireTimeoutMs: 10_000, debug: false },
      pino({ level: 'silent' }),
    );
    try {
      expect(await forgetOldKeys(handle.db, 24)).toBeGreaterThanOrEqual(1);
    } finally {
      await handle.close();
    }
    const keys = await service.database.query<{ key: string }>(
      'select key from idempotency_keys where key = any($1) order by key',
      [[oldKey, youngKey]],
    );
    expect(keys.map((row) => row.key)).toEqual([youngKey]);

    // The forgotten key now creates anew; the remembered one still replays.
    const again = await post(species, oldKey);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(old.body.id);
    expect((await post(species, youngKey)).body.id).toBe(young.body.id);
    expect(await rowsOf(species)).toHaveLength(3);
  });
});

describe('Idempotency-Key upkeep', () => {
  let upkept: TestService | undefined;
  afterEach(async () => {
    await upkept?.stop();
    upkept = undefined;
  });

  it('removes keys older than 24 hours on the periodic resync', async () => {
    upkept = await startTestService({ eventResyncInterval: '200ms' });
    const running = upkept;
    const species = unique('Upkeeposaurus');
    const key = unique('stale');
    const first = await running.api(collection, {
      method: 'POST',
      body: { species },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    await running.database.query(
      `update idempotency_keys set created_at = now() - interval '25 hours' where key = $1`,
      [key],
    );

    const deadline = Date.now() + 15_000;
    let remaining = 1;
    while (remaining > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      remaining = (await running.database.query('select 1 from idempotency_keys where key = $1', [key]))
        .length;
    }
    expect(remaining).toBe(0);

    const again = await running.api(collection, {
      method: 'POST',
      body: { species },
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
  });
});
