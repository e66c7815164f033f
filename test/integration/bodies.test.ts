// Request bodies of POST and PATCH (docs/api.md#request-bodies, docs/api.md#patch): every bad body gets
// its documented status, code and reason in the Error body (docs/errors.md), and no rejected request
// writes anything.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { expectError } from '../support/expectations.ts';
import { type ApiResponse, serviceForFile, type TestService } from '../support/service.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

const service = serviceForFile();

interface Counts {
  dinosaurs: number;
  events: number;
}

async function counts(target: TestService = service): Promise<Counts> {
  const [row] = await target.database.query<Counts>(
    'select (select count(*) from dinosaurs)::int as dinosaurs, (select count(*) from events)::int as events',
  );
  if (!row) throw new Error('no counts');
  return row;
}

// Runs `send` and checks it added no dinosaur row and no event row.
async function expectNothingWritten(send: () => Promise<void>, target: TestService = service): Promise<void> {
  const before = await counts(target);
  await send();
  expect(await counts(target)).toEqual(before);
}

async function create(species: string) {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status).toBe(201);
  return response.body;
}

// The stored row and its API representation, to show a rejected PATCH lost nothing.
async function snapshot(id: string) {
  const [row] = await service.database.query('select * from dinosaurs where id = $1', [id]);
  const events = await service.database.query('select id from events where source_id = $1 order by id', [id]);
  const resource = await service.api(`${collection}/${id}`);
  // An Error body (deleted row) carries this GET's own operation id: leave it out.
  const { operation_id: _operationId, ...body } = resource.body;
  return { row, events, status: resource.status, resource: body };
}

// A request fetch cannot make (no Content-Type with a body, chunked bodies): plain node:http.
async function rawRequest(
  target: TestService,
  method: string,
  path: string,
  headers: Record<string, string>,
  chunks: readonly (string | Buffer)[],
): Promise<ApiResponse> {
  const token = await target.keys.mint();
  const url = new URL(`${target.apiUrl}${path}`);
  return await new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(
      url,
      { method, headers: { authorization: `Bearer ${token}`, ...headers } },
      (response) => {
        answered = true;
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          const fetchHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') fetchHeaders.set(name, value);
            else if (Array.isArray(value)) for (const item of value) fetchHeaders.append(name, item);
          }
          const json = fetchHeaders.get('content-type')?.includes('json') && text !== '';
          resolve({
            status: response.statusCode ?? 0,
            headers: fetchHeaders,
            text,
            body: json ? JSON.parse(text) : undefined,
          });
        });
      },
    );
    // The server may answer (413) and close before the whole body is written.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

describe('Content-Type (docs/api.md#content-type)', () => {
  const nonJsonTypes = [
    'text/plain',
    'text/plain; charset=utf-8',
    'application/xml',
    'text/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/jsonx',
    'application/json-patch+json',
  ];

  it.each(nonJsonTypes)('POST with %s answers 415 code 13', async (type) => {
    await expectNothingWritten(async () => {
      const response = await service.api(collection, {
        method: 'POST',
        body: JSON.stringify({ species: 'Mediasaurus' }),
        headers: { 'content-type': type },
      });
      expectError(response, 415, 13);
    });
  });

  it.each(nonJsonTypes)('PATCH with %s answers 415 code 13 and changes nothing', async (type) => {
    const created = await create('Typosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      const response = await service.api(`${collection}/${created.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ species: 'Changed' }),
        headers: { 'content-type': type },
      });
      expectError(response, 415, 13);
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('answers 415 code 13 to a body sent without any Content-Type', async () => {
    const created = await create('Headlessaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      const body = JSON.stringify({ species: 'NoType' });
      const post = await rawRequest(service, 'POST', collection, {}, [body]);
      expectError(post, 415, 13);
      const patch = await rawRequest(service, 'PATCH', `${collection}/${created.id}`, {}, [body]);
      expectError(patch, 415, 13);
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('puts the caller-given operation id in the header and the Error body', async () => {
    const response = await service.api(collection, {
      method: 'POST',
      body: 'species=x',
      headers: { 'content-type': 'text/plain', 'x-operation-id': 'op-bodies-415' },
    });
    expectError(response, 415, 13);
    expect(response.headers.get('x-operation-id')).toBe('op-bodies-415');
    expect(response.body.operation_id).toBe('op-bodies-415');
  });

  const jsonTypes = [
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json; charset="utf-8"',
    'Application/JSON',
    'application/json ; charset=utf-8',
    'application/merge-patch+json',
    'application/merge-patch+json; charset=utf-8',
  ];

  it.each(jsonTypes)('accepts %s for POST and PATCH', async (type) => {
    const post = await service.api(collection, {
      method: 'POST',
      body: JSON.stringify({ species: 'Charsetosaurus' }),
      headers: { 'content-type': type },
    });
    expect(post.status, post.text).toBe(201);
    expect(post.body.species).toBe('Charsetosaurus');
    const patch = await service.api(`${collection}/${post.body.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ species: 'Recharsetosaurus' }),
      headers: { 'content-type': type },
    });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.body.species).toBe('Recharsetosaurus');
    expect((await service.api(`${collection}/${post.body.id}`)).body.species).toBe('Recharsetosaurus');
  });

  it('reads a non-ASCII species sent as UTF-8', async () => {
    const response = await service.api(collection, {
      method: 'POST',
      body: JSON.stringify({ species: 'Ænigmasaurus 恐竜 🦖' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(201);
    expect(response.body.species).toBe('Ænigmasaurus 恐竜 🦖');
  });
});

describe('body size (docs/api.md#size-limit)', () => {
  it('answers 413 code 14 to a body over the default 1 MiB', async () => {
    const body = JSON.stringify({ species: 'x'.repeat(1024 * 1024) });
    await expectNothingWritten(async () => {
      expectError(await service.api(collection, { method: 'POST', body }), 413, 14);
    });
    const created = await create('Bigosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      expectError(await service.api(`${collection}/${created.id}`, { method: 'PATCH', body }), 413, 14);
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('accepts a body just under 1 MiB', async () => {
    const species = 'y'.repeat(1024 * 1024 - 100);
    const response = await service.api(collection, { method: 'POST', body: { species } });
    expect(response.status, response.text).toBe(201);
    expect(response.body.species).toHaveLength(species.length);
  });

  // No field has a length limit besides the body limit (docs/api.md#size-limit): a long value is stored,
  // not a 500.
  it('stores a long incompressible species given to POST', async () => {
    const long = randomBytes(2250).toString('base64');
    expect(long).toHaveLength(3000);
    const post = await service.api(collection, { method: 'POST', body: { species: long } });
    expect(post.status, post.text).toBe(201);
    expect(post.body.species).toBe(long);
    expect((await service.api(`${collection}/${post.body.id}`)).body.species).toBe(long);
  });

  it('stores a long incompressible species given to PATCH', async () => {
    const created = await create('Shortosaurus');
    const long = randomBytes(7500).toString('base64');
    const patch = await service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: { species: long },
    });
    expect(patch.status, patch.text).toBe(200);
    expect((await service.api(`${collection}/${created.id}`)).body.species).toBe(long);
  });

  describe('with --http-body-limit 1024', () => {
    const small = serviceForFile({ httpBodyLimit: '1024' });

    // {"species":"<n chars>"} is n + 14 bytes.
    const bodyOfLength = (length: number): string => JSON.stringify({ species: 'z'.repeat(length - 14) });

    it('accepts a body of exactly the limit', async () => {
      const body = bodyOfLength(1024);
      expect(Buffer.byteLength(body)).toBe(1024);
      const response = await small.api(collection, { method: 'POST', body });
      expect(response.status, response.text).toBe(201);
    });

    it('answers 413 code 14 to a body one byte over the limit, for POST and PATCH', async () => {
      const body = bodyOfLength(1025);
      expect(Buffer.byteLength(body)).toBe(1025);
      const created = await small.api(collection, { method: 'POST', body: { species: 'Smallosaurus' } });
      expect(created.status).toBe(201);
      await expectNothingWritten(async () => {
        expectError(await small.api(collection, { method: 'POST', body }), 413, 14);
        expectError(await small.api(`${collection}/${created.body.id}`, { method: 'PATCH', body }), 413, 14);
      }, small);
      expect((await small.api(`${collection}/${created.body.id}`)).body).toEqual(created.body);
    });

    it('answers 413 code 14 to a chunked body (no Content-Length) over the limit', async () => {
      await expectNothingWritten(async () => {
        const text = bodyOfLength(3000);
        const chunks = [text.slice(0, 1000), text.slice(1000, 2000), text.slice(2000)];
        const response = await rawRequest(
          small,
          'POST',
          collection,
          { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          chunks,
        );
        expectError(response, 413, 14);
      }, small);
    });

    it('counts bytes, not characters: 400 two-byte characters are over 1024 bytes', async () => {
      const body = JSON.stringify({ species: 'é'.repeat(600) });
      expect(body.length).toBeLessThan(1024);
      expect(Buffer.byteLength(body)).toBeGreaterThan(1024);
      await expectNothingWritten(async () => {
        expectError(
          await small.api(collection, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
          413,
          14,
        );
      }, small);
    });
  });
});

describe('unreadable bodies (docs/api.md#unreadable-bodies): 400 code 17', () => {
  const malformed: [string, string][] = [
    ['an empty body', ''],
    ['a whitespace-only body', '  \n\t '],
    ['an unterminated object', '{'],
    ['a missing value', '{"species":}'],
    ['single quotes', "{'species':'x'}"],
    ['a trailing comma', '{"species":"x",}'],
    ['trailing garbage', '{"species":"x"} x'],
    ['two objects', '{"species":"x"}{"species":"y"}'],
    ['a bare word', 'undefined'],
    ['a JSON array', '[]'],
    ['a JSON array of objects', '[{"species":"x"}]'],
    ['a JSON string', '"Tyrannosaurus"'],
    ['a JSON number', '42'],
    ['JSON true', 'true'],
    ['JSON null', 'null'],
  ];
  const invalidFormat = /^Invalid request format: \S/;

  it.each(malformed)('POST with %s', async (_name, body) => {
    await expectNothingWritten(async () => {
      expectError(await service.api(collection, { method: 'POST', body }), 400, 17, invalidFormat);
    });
  });

  it.each(malformed)('PATCH with %s, on a live id and on an unknown id', async (_name, body) => {
    const created = await create('Garblosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      for (const id of [created.id, 'no-such-dinosaur']) {
        const response = await service.api(`${collection}/${id}`, { method: 'PATCH', body });
        expectError(response, 400, 17, invalidFormat);
      }
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('POST and PATCH without any body', async () => {
    const created = await create('Bodilessaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      expectError(await service.api(collection, { method: 'POST' }), 400, 17, invalidFormat);
      expectError(
        await service.api(`${collection}/${created.id}`, { method: 'PATCH' }),
        400,
        17,
        invalidFormat,
      );
      // An explicit empty JSON body (Content-Length: 0) through node:http as well.
      const raw = await rawRequest(
        service,
        'POST',
        collection,
        { 'content-type': 'application/json', 'content-length': '0' },
        [],
      );
      expectError(raw, 400, 17, invalidFormat);
    });
    expect(await snapshot(created.id)).toEqual(before);
  });
});

describe('POST field validation (docs/api.md#fields): 400 code 8', () => {
  const cases: [string, unknown, string | RegExp][] = [
    ['no species', {}, 'species is required'],
    ['species null', { species: null }, 'species is required'],
    ['species ""', { species: '' }, 'species is required'],
    ['only read-only fields', { kind: 'Dinosaur', href: '/x' }, 'species is required'],
    ['a non-empty id', { species: 'Idosaurus', id: 'abc' }, 'id must be empty'],
    ['a KSUID id', { species: 'Idosaurus', id: '2zWzXyb4Wzn3Qs3Y6qoVUVOlPJg' }, 'id must be empty'],
    ['a numeric id', { species: 'Idosaurus', id: 7 }, 'id must be empty'],
  ];

  it.each(cases)('POST with %s', async (_name, body, reason) => {
    await expectNothingWritten(async () => {
      expectError(await service.api(collection, { method: 'POST', body }), 400, 8, reason);
    });
  });
});

describe('unknown fields (docs/api.md#fields): 400 code 8 naming them', () => {
  it('names one unknown field, for POST and for PATCH', async () => {
    const created = await create('Knownosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      const post = await service.api(collection, { method: 'POST', body: { species: 'x', colour: 'green' } });
      expectError(post, 400, 8, /colour/);
      const patch = await service.api(`${collection}/${created.id}`, {
        method: 'PATCH',
        body: { species: 'x', colour: 'green' },
      });
      expectError(patch, 400, 8, /colour/);
      expect(patch.body.reason).toBe(post.body.reason);
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('names every unknown field when there are several', async () => {
    const created = await create('Multiknownosaurus');
    const before = await snapshot(created.id);
    const body = { species: 'x', colour: 'green', weight_kg: 9000, Species: 'y' };
    await expectNothingWritten(async () => {
      for (const [method, path] of [
        ['POST', collection],
        ['PATCH', `${collection}/${created.id}`],
      ] as const) {
        const response = await service.api(path, { method, body });
        expectError(response, 400, 8);
        for (const field of ['colour', 'weight_kg', 'Species']) {
          expect(response.body.reason, `${method}: ${response.body.reason}`).toContain(field);
        }
      }
    });
    expect(await snapshot(created.id)).toEqual(before);
  });

  it('treats prototype-looking keys as unknown fields', async () => {
    await expectNothingWritten(async () => {
      for (const field of ['__proto__', 'constructor', 'toString']) {
        const body = `{"species":"Protosaurus","${field}":{"polluted":true}}`;
        const response = await service.api(collection, { method: 'POST', body });
        expectError(response, 400, 8);
        expect(response.body.reason).toContain(field);
      }
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('wrong JSON types (docs/api.md#fields): 400 code 8 naming the field and the type', () => {
  const wrongSpecies: [string, unknown][] = [
    ['a number', 42],
    ['a float', 1.5],
    ['a boolean', true],
    ['an object', { name: 'Rex' }],
    ['an array', ['Rex']],
  ];

  it.each(wrongSpecies)('species as %s, for POST and PATCH', async (_name, species) => {
    const created = await create('Typedosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      for (const [method, path] of [
        ['POST', collection],
        ['PATCH', `${collection}/${created.id}`],
        ['PATCH', `${collection}/no-such-dinosaur`],
      ] as const) {
        const response = await service.api(path, { method, body: { species } });
        expectError(response, 400, 8, /species/);
        expect(response.body.reason, `${method} ${path}`).toMatch(/string/);
      }
    });
    expect(await snapshot(created.id)).toEqual(before);
  });
});

describe('PATCH validation (docs/api.md#patch)', () => {
  const cases: [string, unknown, string | RegExp][] = [
    ['species ""', { species: '' }, 'species cannot be empty'],
    ['species null', { species: null }, 'species cannot be null'],
    ['an unknown field', { hat: 'top' }, /hat/],
    ['species of the wrong type', { species: 3 }, /species.*string/],
  ];

  it.each(cases)('%s on a live id: 400 code 8, the row unchanged', async (_name, body, reason) => {
    const created = await create('Patchosaurus');
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      expectError(
        await service.api(`${collection}/${created.id}`, { method: 'PATCH', body }),
        400,
        8,
        reason,
      );
    });
    expect(await snapshot(created.id)).toEqual(before);
    expect(before.resource.species).toBe('Patchosaurus');
  });

  it.each(cases)('%s on an unknown id: still 400 (validation before lookup)', async (_name, body, reason) => {
    await expectNothingWritten(async () => {
      expectError(
        await service.api(`${collection}/no-such-dinosaur`, { method: 'PATCH', body }),
        400,
        8,
        reason,
      );
    });
  });

  it.each(cases)('%s on a deleted id: still 400, and the row stays deleted', async (_name, body, reason) => {
    const created = await create('Deletosaurus');
    expect((await service.api(`${collection}/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    const before = await snapshot(created.id);
    await expectNothingWritten(async () => {
      expectError(
        await service.api(`${collection}/${created.id}`, { method: 'PATCH', body }),
        400,
        8,
        reason,
      );
    });
    expect(await snapshot(created.id)).toEqual(before);
    expect(before.status).toBe(404);
  });

  it('a good body on an unknown id is 404 code 7 and writes nothing', async () => {
    await expectNothingWritten(async () => {
      expectError(
        await service.api(`${collection}/no-such-dinosaur`, { method: 'PATCH', body: { species: 'Fine' } }),
        404,
        7,
        "Dinosaur with id='no-such-dinosaur' not found",
      );
    });
  });
});
