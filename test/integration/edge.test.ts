import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import SwaggerParser from '@apidevtools/swagger-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/raw-http.ts';
import { type ApiInit, serviceForFile } from '../support/service.ts';

const service = serviceForFile();

const apiRoot = '/api/rh-trex';
const apiBase = '/api/rh-trex/v1';
const collection = `${apiBase}/dinosaurs`;
const ksuid = /^[0-9A-Za-z]{27}$/;
const catalogueCodes = [4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 21, 26, 27, 28];

async function create(species: string) {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status).toBe(201);
  return response.body;
}

describe('X-Operation-ID', () => {
  it('is on every response, success or error, and is a fresh KSUID when the caller sends none', async () => {
    const created = await create('Operationosaurus');
    const calls: { path: string; init: ApiInit; status: number }[] = [
      { path: apiRoot, init: { token: null }, status: 200 },
      { path: collection, init: {}, status: 200 },
      { path: `${collection}/${created.id}`, init: {}, status: 200 },
      { path: `${collection}/${created.id}`, init: { method: 'DELETE' }, status: 204 },
      { path: `${collection}/${created.id}`, init: {}, status: 404 },
      { path: `${apiBase}/no-such-thing`, init: {}, status: 404 },
      { path: collection, init: { token: null }, status: 401 },
      { path: collection, init: { method: 'PUT' }, status: 405 },
      { path: collection, init: { method: 'POST', body: '{not json' }, status: 400 },
      {
        path: collection,
        init: { method: 'POST', body: 'species=x', headers: { 'content-type': 'text/plain' } },
        status: 415,
      },
      { path: collection, init: { method: 'POST', body: { species: 'x'.repeat(1_100_000) } }, status: 413 },
    ];
    const seen = new Set<string>();
    for (const { path, init, status } of calls) {
      const response = await service.api(path, init);
      const label = `${init.method ?? 'GET'} ${path}`;
      expect(response.status, label).toBe(status);
      const operationId = response.headers.get('x-operation-id');
      expect(operationId, label).toEqual(expect.stringMatching(ksuid));
      seen.add(operationId as string);
      if (status >= 400) {
        expect(response.headers.get('content-type'), label).toMatch(/^application\/json/);
        expect(response.body.operation_id, label).toBe(operationId);
      }
    }
    expect(seen.size).toBe(calls.length);
  });

  it('is also on responses to URLs the router cannot decode (bad percent-encoding)', async () => {
    const fresh = await service.api(`${collection}/%E0%A4%A`);
    expect(fresh.status).toBe(400);
    expect(fresh.body).toMatchObject({ kind: 'Error', code: 'rh-trex-17' });
    expect(fresh.headers.get('x-operation-id')).toBe(fresh.body.operation_id);
    expect(fresh.headers.get('x-operation-id')).toEqual(expect.stringMatching(ksuid));

    const given = await service.api(`${collection}/%E0%A4%A`, {
      headers: { 'x-operation-id': 'bad-url-op' },
    });
    expect(given.status).toBe(400);
    expect(given.body.operation_id).toBe('bad-url-op');
    expect(given.headers.get('x-operation-id')).toBe('bad-url-op');
  });

  it('reuses a valid incoming id on success and error responses and repeats it in Error bodies', async () => {
    const valid = ['abc', 'A', 'op.ID_with-all.CHARS_09', 'x'.repeat(64)];
    for (const id of valid) {
      const ok = await service.api(collection, { headers: { 'x-operation-id': id } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-operation-id')).toBe(id);

      const missing = await service.api(`${collection}/missing`, { headers: { 'x-operation-id': id } });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('x-operation-id')).toBe(id);
      expect(missing.body.operation_id).toBe(id);

      const unauthenticated = await service.api(collection, {
        token: null,
        headers: { 'x-operation-id': id },
      });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers.get('x-operation-id')).toBe(id);
      expect(unauthenticated.body.operation_id).toBe(id);
    }
  });

  it('replaces an invalid incoming id (too long, bad characters, empty) with a new KSUID', async () => {
    const invalid = [
      'x'.repeat(65),
      'has space',
      'semi;colon',
      'slash/slash',
      'quote"d',
      '<script>',
      'a,b',
      '',
    ];
    for (const id of invalid) {
      const missing = await service.api(`${collection}/missing`, { headers: { 'x-operation-id': id } });
      expect(missing.status).toBe(404);
      const echoed = missing.headers.get('x-operation-id');
      expect(echoed, JSON.stringify(id)).toMatch(ksuid);
      expect(echoed).not.toBe(id);
      expect(missing.body.operation_id).toBe(echoed);
    }
  });
});

describe('unknown routes', () => {
  it('answer 404 code 7 with an Error body whose href resolves in the catalogue', async () => {
    for (const path of [`${apiBase}/unicorns`, `${apiBase}/unicorns/1`, '/nowhere', `${collection}/x/y`]) {
      const response = await service.api(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body, path).toEqual({
        kind: 'Error',
        id: '7',
        href: `${apiBase}/errors/7`,
        code: 'rh-trex-7',
        reason: expect.any(String),
        operation_id: response.headers.get('x-operation-id'),
      });
      expect(response.body.reason.length).toBeGreaterThan(0);
    }
    const href = (await service.api(`${apiBase}/unicorns`)).body.href;
    const entry = await service.api(href, { token: null });
    expect(entry.status).toBe(200);
    expect(entry.body).toMatchObject({ kind: 'Error', id: '7', code: 'rh-trex-7' });
  });
});

describe('long path parameters', () => {
  it('treat a very long id as an unknown id: 404 code 7 with the usual headers', async () => {
    const id = 'a'.repeat(150);
    for (const method of ['GET', 'DELETE']) {
      const response = await service.api(`${collection}/${id}`, {
        method,
        headers: { 'x-operation-id': 'long-id-op' },
      });
      expect(response.status, method).toBe(404);
      expect(response.headers.get('x-operation-id'), method).toBe('long-id-op');
      expect(response.body, method).toMatchObject({
        kind: 'Error',
        code: 'rh-trex-7',
        reason: `Dinosaur with id='${id}' not found`,
        operation_id: 'long-id-op',
      });
    }
  });
});

describe('metadata', () => {
  it('GET /api/rh-trex describes the API without a token', async () => {
    const response = await service.api(apiRoot, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      kind: 'API',
      id: 'trex',
      href: apiRoot,
      version: expect.any(String),
      build_time: expect.any(String),
    });
    expect(response.body.version).not.toBe('');
    expect(response.body.build_time).not.toBe('');
    expect((await service.api(`${apiRoot}/`, { token: null })).body).toEqual(response.body);
  });

  it('GET /api/rh-trex/v1 lists the collections without a token', async () => {
    const response = await service.api(apiBase, { token: null });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ kind: 'APIVersion', id: 'v1', href: apiBase });
    expect(response.body.collections).toContainEqual({
      id: 'dinosaurs',
      href: collection,
      kind: 'DinosaurList',
    });
    for (const entry of response.body.collections) {
      expect(entry).toEqual({
        id: expect.any(String),
        href: `${apiBase}/${entry.id}`,
        kind: expect.any(String),
      });
    }
  });
});

describe('error catalogue', () => {
  it('GET /errors lists every code of the contract, publicly', async () => {
    const response = await service.api(`${apiBase}/errors`, { token: null });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ kind: 'ErrorList', page: 1 });
    const items = response.body.items as { id: string; code: string }[];
    expect(response.body.size).toBe(items.length);
    expect(response.body.total).toBe(items.length);
    expect(items.map((item) => Number(item.id)).sort((a, b) => a - b)).toEqual(catalogueCodes);
    for (const code of catalogueCodes) {
      const item = items.find((entry) => entry.id === String(code));
      expect(item, `code ${code}`).toEqual({
        kind: 'Error',
        id: String(code),
        href: `${apiBase}/errors/${code}`,
        code: `rh-trex-${code}`,
        reason: expect.stringMatching(/\S/),
      });
    }
  });

  it('GET /errors/{code} returns one entry for every listed href, publicly', async () => {
    const list = await service.api(`${apiBase}/errors`, { token: null });
    for (const item of list.body.items) {
      const response = await service.api(item.href, { token: null });
      expect(response.status, item.href).toBe(200);
      expect(response.body).toEqual(item);
    }
    const seven = await service.api(`${apiBase}/errors/7`, { token: null });
    expect(seven.body).toMatchObject({
      kind: 'Error',
      id: '7',
      code: 'rh-trex-7',
      href: `${apiBase}/errors/7`,
    });
  });

  it('answers 404 code 7 for codes not in the catalogue', async () => {
    for (const code of ['999', 'abc', '1', '07x', '-7']) {
      const response = await service.api(`${apiBase}/errors/${code}`, { token: null });
      expect(response.status, code).toBe(404);
      expect(response.body).toMatchObject({ kind: 'Error', code: 'rh-trex-7' });
      expect(response.status).not.toBe(401);
    }
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document describing the Dinosaur routes, publicly', async () => {
    const response = await service.api(`${apiBase}/openapi`, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const document = response.body;
    expect(document.openapi).toMatch(/^3\.1\./);

    const itemPath = `${collection}/{id}`;
    expect(Object.keys(document.paths[collection] ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(document.paths[itemPath] ?? {})).toEqual(
      expect.arrayContaining(['get', 'patch', 'delete']),
    );
    // Methods that answer 405 are not advertised.
    expect(document.paths[collection].put).toBeUndefined();
    expect(document.paths[collection].delete).toBeUndefined();
    expect(document.paths[itemPath].put).toBeUndefined();
    expect(document.paths[itemPath].post).toBeUndefined();

    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Dinosaur', 'DinosaurList', 'DinosaurPatchRequest', 'Error']),
    );
    const schemes = Object.entries(document.components.securitySchemes ?? {}) as [
      string,
      { type: string; scheme?: string },
    ][];
    const bearer = schemes.find(
      ([, scheme]) => scheme.type === 'http' && scheme.scheme?.toLowerCase() === 'bearer',
    );
    expect(bearer).toBeDefined();
    // Dinosaur operations require the Bearer scheme.
    const bearerName = bearer?.[0] as string;
    for (const operation of [document.paths[collection].get, document.paths[itemPath].patch]) {
      const requirements = [...(operation.security ?? []), ...(document.security ?? [])];
      expect(requirements.some((requirement: object) => bearerName in requirement)).toBe(true);
    }

    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
  });

  it('serves an HTML page whose scripts and stylesheets all come from the service itself', async () => {
    const pageUrl = `${service.apiUrl}${apiBase}/openapi.html`;
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const base = page.url;
    const references = [
      ...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g),
      ...html.matchAll(/<link[^>]*\shref="([^"]+)"/g),
    ].map((match) => match[1] as string);
    expect(references.some((reference) => reference.includes('.js'))).toBe(true);
    expect(references.some((reference) => reference.includes('.css'))).toBe(true);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const origin = new URL(service.apiUrl).origin;
    for (const reference of references) {
      const url = new URL(reference, base);
      expect(url.origin, reference).toBe(origin);
      const asset = await fetch(url);
      expect(asset.status, url.pathname).toBe(200);
      await asset.arrayBuffer();
    }
    // The script that boots the page loads the document from the service and no online validator.
    const initializer = references.find((reference) => reference.includes('initializer'));
    if (initializer) {
      const script = await (await fetch(new URL(initializer, base))).text();
      const code = script.replace(/^\s*\/\/.*$/gm, '');
      expect(code).not.toMatch(/https?:\/\//);
      // Swagger UI's default validator is an online service (validator.swagger.io).
      expect(code).toMatch(/validatorUrl:\s*null/);
      // Swagger UI loads the document from ./json next to the page.
      const json = await fetch(`${service.apiUrl}${apiBase}/openapi.html/json`);
      expect(json.status).toBe(200);
      expect(((await json.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
    }
  });
});

describe('CORS', () => {
  const corsService = serviceForFile({ corsAllowedOrigins: 'https://allowed.example' });

  const authorization = async () => `Bearer ${await corsService.keys.mint()}`;

  it('echoes an allowed origin with Vary: Origin', async () => {
    const response = await rawRequest(`${corsService.apiUrl}${collection}`, {
      headers: { origin: 'https://allowed.example', authorization: await authorization() },
    });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('https://allowed.example');
    expect(String(response.headers.vary)).toMatch(/\borigin\b/i);
  });

  it('exposes Location, X-Operation-ID and ETag to scripts, and lets them send the precondition headers', async () => {
    const response = await rawRequest(`${corsService.apiUrl}${collection}`, {
      headers: { origin: 'https://allowed.example', authorization: await authorization() },
    });
    const exposed = String(response.headers['access-control-expose-headers'])
      .split(',')
      .map((header) => header.trim().toLowerCase());
    expect(exposed).toEqual(expect.arrayContaining(['location', 'x-operation-id', 'etag']));
    const preflight = await rawRequest(`${corsService.apiUrl}${collection}/someid`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://allowed.example',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'if-match,if-none-match,idempotency-key',
      },
    });
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toBe(
      'if-match,if-none-match,idempotency-key',
    );
  });

  it('also on error responses, so a browser can read them', async () => {
    const response = await rawRequest(`${corsService.apiUrl}${collection}`, {
      headers: { origin: 'https://allowed.example' },
    });
    expect(response.status).toBe(401);
    expect(response.headers['access-control-allow-origin']).toBe('https://allowed.example');
  });

  it('gives no Access-Control-Allow-Origin to an origin not allowed', async () => {
    for (const origin of [
      'https://evil.example',
      'https://allowed.example.evil.example',
      'http://allowed.example',
    ]) {
      const response = await rawRequest(`${corsService.apiUrl}${collection}`, {
        headers: { origin, authorization: await authorization() },
      });
      expect(response.status).toBe(200);
      expect(response.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('answers a preflight from an allowed origin with the methods and a max age of 600', async () => {
    const response = await rawRequest(`${corsService.apiUrl}${collection}/someid`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://allowed.example',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(300);
    expect(response.headers['access-control-allow-origin']).toBe('https://allowed.example');
    const methods = String(response.headers['access-control-allow-methods'])
      .split(',')
      .map((method) => method.trim().toUpperCase());
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']));
    expect(response.headers['access-control-max-age']).toBe('600');
  });

  it('answers an OPTIONS that is not a well-formed preflight as one, never with an error that is not an Error body', async () => {
    const malformed: Record<string, string>[] = [
      {},
      { origin: 'https://allowed.example' },
      { 'access-control-request-method': 'GET' },
    ];
    for (const headers of malformed) {
      const response = await rawRequest(`${corsService.apiUrl}${collection}`, { method: 'OPTIONS', headers });
      expect(response.status, JSON.stringify(headers)).toBe(204);
      expect(response.headers['access-control-allow-methods'], JSON.stringify(headers)).toBe(
        'GET, POST, PATCH, DELETE',
      );
    }
  });

  it('does not allow a preflight from another origin', async () => {
    const response = await rawRequest(`${corsService.apiUrl}${collection}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });
    expect(response.status).toBeLessThan(500);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is off when no origins are configured', async () => {
    const response = await rawRequest(`${service.apiUrl}${collection}`, {
      headers: { origin: 'https://allowed.example', authorization: `Bearer ${await service.keys.mint()}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('compression', () => {
  const species = 'Compressosaurus';
  beforeAll(async () => {
    for (let i = 0; i < 30; i++) await create(`${species}_${String(i).padStart(2, '0')}`);
  });

  const get = async (acceptEncoding?: string) =>
    await rawRequest(`${service.apiUrl}${collection}`, {
      headers: {
        authorization: `Bearer ${await service.keys.mint()}`,
        ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
      },
    });

  const decoders = {
    gzip: gunzipSync,
    br: brotliDecompressSync,
    deflate: inflateSync,
  } as const;

  for (const [encoding, decode] of Object.entries(decoders)) {
    it(`compresses a list with ${encoding} when asked`, async () => {
      const plain = await get();
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      const expected = JSON.parse(plain.body.toString('utf8'));
      expect(expected.items.length).toBeGreaterThanOrEqual(30);

      const response = await get(encoding);
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe(encoding);
      expect(response.body.length).toBeLessThan(plain.body.length);
      const decoded = JSON.parse(decode(response.body).toString('utf8'));
      expect(decoded).toEqual(expected);
    });
  }

  it('picks an encoding the client accepts from a list', async () => {
    const response = await get('identity;q=0.5, gzip;q=1.0');
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(response.body).toString('utf8')).kind).toBe('DinosaurList');
  });
});

describe('HEAD', () => {
  it('works on GET routes: 200, the headers of GET, no body', async () => {
    const created = await create('Headosaurus');
    for (const [path, token] of [
      [collection, undefined],
      [`${collection}/${created.id}`, undefined],
      [apiRoot, null],
      [`${apiBase}/errors/7`, null],
    ] as const) {
      const response = await service.api(path, { method: 'HEAD', token });
      expect(response.status, path).toBe(200);
      expect(response.text).toBe('');
      expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(response.headers.get('x-operation-id')).toMatch(ksuid);
    }
  });

  it('still needs a token on protected routes', async () => {
    const response = await service.api(collection, { method: 'HEAD', token: null });
    expect(response.status).toBe(401);
    expect(response.text).toBe('');
  });
});
