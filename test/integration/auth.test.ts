import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, serviceForFile, startTestService, type TestService } from '../support/service.ts';
import { createTestKeys } from '../support/tokens.ts';

const apiBase = '/api/rh-trex/v1';
const collection = `${apiBase}/dinosaurs`;
const now = () => Math.floor(Date.now() / 1000);

// Every credential this file sends, so the log hygiene test can look for each of them.
const secrets = new Set<string>();
// The logs of every service this file starts.
const allLogs: Record<string, unknown>[][] = [];
const jwtShape = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

// Calls `target` with exactly this Authorization header (or none), recording it as a secret.
async function callWith(
  target: TestService,
  authorization: string | undefined,
  path = collection,
  init: { method?: string; body?: unknown } = {},
): Promise<ApiResponse> {
  if (authorization !== undefined) secrets.add(authorization);
  return await target.api(path, {
    ...init,
    token: null,
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function callWithToken(target: TestService, token: string, path = collection): Promise<ApiResponse> {
  secrets.add(token);
  return await callWith(target, `Bearer ${token}`, path);
}

// Asserts the 401 contract (docs/auth.md#tokens, docs/errors.md) and returns the reason.
function expectUnauthenticated(response: ApiResponse, label: string, token?: string): string {
  expect(response.status, label).toBe(401);
  expect(response.headers.get('www-authenticate'), label).toMatch(/^Bearer\b/);
  expect(response.headers.get('content-type'), label).toMatch(/^application\/json/);
  expect(response.body, label).toEqual({
    kind: 'Error',
    id: '15',
    href: `${apiBase}/errors/15`,
    code: 'rh-trex-15',
    reason: expect.stringMatching(/\S/),
    operation_id: response.headers.get('x-operation-id'),
  });
  const reason = response.body.reason as string;
  if (token) {
    expect(reason, label).not.toContain(token);
    for (const part of token.split('.').filter((segment) => segment.length >= 8)) {
      expect(reason, label).not.toContain(part);
    }
  }
  return reason;
}

interface OwnKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function ownKey(kid: string, alg: string): Promise<OwnKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

// A token signed by one of this file's own keys, with exactly the given claims (no exp unless given).
async function signOwn(key: OwnKey, claims: JWTPayload): Promise<string> {
  const token = await new SignJWT({ username: 'own-user', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
  secrets.add(token);
  return token;
}

const service = serviceForFile();
beforeAll(() => {
  allLogs.push(service.logs);
});

describe('with JWT on', () => {
  it('accepts a valid token on every Dinosaur route', async () => {
    const token = await service.keys.mint();
    secrets.add(token);
    const created = await service.api(collection, {
      method: 'POST',
      body: { species: 'Authosaurus' },
      token,
    });
    expect(created.status).toBe(201);
    const item = `${collection}/${created.body.id}`;
    expect((await service.api(collection, { token })).status).toBe(200);
    expect((await service.api(item, { token })).status).toBe(200);
    expect((await service.api(item, { method: 'PATCH', body: { species: 'Y' }, token })).status).toBe(200);
    expect((await service.api(item, { method: 'DELETE', token })).status).toBe(204);
  });

  it('answers 401 code 15 with WWW-Authenticate: Bearer on every Dinosaur route without a token', async () => {
    const routes = [
      { method: 'GET', path: collection },
      { method: 'HEAD', path: collection },
      { method: 'POST', path: collection, body: { species: 'Nope' } },
      { method: 'GET', path: `${collection}/someid` },
      { method: 'PATCH', path: `${collection}/someid`, body: { species: 'Nope' } },
      { method: 'DELETE', path: `${collection}/someid` },
    ];
    for (const { method, path, body } of routes) {
      const response = await callWith(service, undefined, path, { method, body });
      if (method === 'HEAD') {
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      } else {
        expect(expectUnauthenticated(response, `${method} ${path}`)).toMatch(/missing/i);
      }
    }
  });

  it('checks the token before the body and writes nothing', async () => {
    const [before] = await service.database.query<{ count: string }>('select count(*) from dinosaurs');
    for (const body of [{ species: 'Sneakosaurus' }, { nope: true }, '{not json']) {
      const response = await callWith(service, 'Bearer not-a-token', collection, { method: 'POST', body });
      expectUnauthenticated(response, JSON.stringify(body));
    }
    const [after] = await service.database.query<{ count: string }>('select count(*) from dinosaurs');
    expect(after?.count).toBe(before?.count);
  });

  it('rejects malformed Authorization headers', async () => {
    const reasons = new Set<string>();
    for (const header of [
      'Basic dXNlcjpwYXNzd29yZA==',
      'Bearer',
      'Bearer ',
      'Token abc.def.ghi',
      'Bearer a b',
    ]) {
      const reason = expectUnauthenticated(await callWith(service, header), header);
      expect(reason, header).not.toContain('dXNlcjpwYXNzd29yZA');
      reasons.add(reason);
    }
    const missing = expectUnauthenticated(await callWith(service, undefined), 'missing');
    expect(reasons.has(missing)).toBe(false);
  });

  it('rejects tokens that are not JWTs, never with a 5xx', async () => {
    const garbage = [
      'garbage',
      'not.a.jwt',
      'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln',
      `${base64url({ alg: 'RS256', kid: 'test-key' })}.${base64url({ exp: now() + 3600 })}.`,
      'a.b.c.d.e',
      'x'.repeat(8000),
    ];
    for (const token of garbage) {
      const response = await callWithToken(service, token);
      expect(response.status, token.slice(0, 40)).toBeLessThan(500);
      expectUnauthenticated(response, token.slice(0, 40), token);
    }
  });

  it('gives a distinct reason per cause, never echoing the token', async () => {
    const keys = service.keys;
    const testJwk = keys.jwks.keys[0] as JWK;
    const otherKeys = await createTestKeys(); // same kid, different key
    const header = (alg: string) => ({ alg, kid: 'test-key', typ: 'JWT' });
    const claims = { username: 'attacker', iat: now(), exp: now() + 3600 };
    const publicPem = await exportSPKI((await importJWK(testJwk, 'RS256')) as CryptoKey);
    const hmac = (secret: Uint8Array) => new SignJWT(claims).setProtectedHeader(header('HS256')).sign(secret);

    const cases: { cause: string; token: string; reason: RegExp }[] = [
      { cause: 'malformed', token: 'garbage.token.here', reason: /malformed|invalid/i },
      { cause: 'expired', token: await keys.mint({ exp: now() - 60 }), reason: /expired/i },
      { cause: 'not yet valid', token: await keys.mint({ nbf: now() + 3600 }), reason: /not yet valid|nbf/i },
      { cause: 'bad signature', token: await otherKeys.mint(), reason: /signature/i },
      { cause: 'unknown key', token: await keys.mint({}, { kid: 'unknown-kid' }), reason: /key|kid/i },
      {
        cause: 'algorithm',
        token: `${base64url(header('none'))}.${base64url(claims)}.`,
        reason: /alg/i,
      },
      {
        cause: 'algorithm',
        token: `${base64url({ alg: 'none' })}.${base64url(claims)}.`,
        reason: /alg/i,
      },
      {
        cause: 'algorithm',
        token: await hmac(Buffer.from(testJwk.n as string, 'base64url')),
        reason: /alg/i,
      },
      { cause: 'algorithm', token: await hmac(new TextEncoder().encode(publicPem)), reason: /alg/i },
      { cause: 'algorithm', token: await hmac(new TextEncoder().encode('any-secret')), reason: /alg/i },
    ];
    const byCause = new Map<string, Set<string>>();
    for (const { cause, token, reason: expected } of cases) {
      const response = await callWithToken(service, token);
      expect(response.status, cause).toBeLessThan(500);
      const reason = expectUnauthenticated(response, cause, token);
      expect(reason, cause).toMatch(expected);
      byCause.set(cause, (byCause.get(cause) ?? new Set()).add(reason));
    }
    const reasonOfEach = [...byCause.values()].map((reasons) => [...reasons].join('|'));
    expect(new Set(reasonOfEach).size).toBe(byCause.size);
    const missing = expectUnauthenticated(await callWith(service, undefined), 'missing');
    expect(reasonOfEach).not.toContain(missing);
  });

  it('accepts the scheme in any case', async () => {
    const token = await service.keys.mint();
    for (const scheme of ['bearer', 'Bearer', 'BEARER']) {
      const response = await callWith(service, `${scheme} ${token}`);
      expect(response.status, scheme).toBe(200);
    }
  });

  it('needs no token on the public routes', async () => {
    for (const path of [
      '/api/rh-trex',
      apiBase,
      `${apiBase}/errors`,
      `${apiBase}/errors/15`,
      `${apiBase}/openapi`,
      `${apiBase}/openapi.html`,
    ]) {
      const response = await callWith(service, undefined, path);
      expect(response.status, path).toBe(200);
    }
  });
});

describe('with keys from a JWKS URL', () => {
  let jwksServer: Server;
  let jwksRequests = 0;
  let remote: TestService;
  let rsa: OwnKey;
  let others: OwnKey[];

  beforeAll(async () => {
    rsa = await ownKey('own-rs256', 'RS256');
    others = await Promise.all([
      ownKey('own-ps256', 'PS256'),
      ownKey('own-es256', 'ES256'),
      ownKey('own-es384', 'ES384'),
      ownKey('own-eddsa', 'EdDSA'),
    ]);
    const jwks = JSON.stringify({ keys: [rsa, ...others].map((key) => key.jwk) });
    jwksServer = createServer((request, response) => {
      if (request.url === '/jwks.json') {
        jwksRequests++;
        response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    remote = await startTestService({ jwkCertFile: '', jwkCertUrl: `http://127.0.0.1:${port}/jwks.json` });
    allLogs.push(remote.logs);
  });
  afterAll(async () => {
    await remote?.stop();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  it('accepts a valid token signed by a key it serves', async () => {
    const token = await signOwn(rsa, { exp: now() + 3600, iat: now() });
    const response = await callWithToken(remote, token);
    expect(response.status).toBe(200);
    expect(response.body.kind).toBe('DinosaurList');
  });

  it('accepts every algorithm of the contract', async () => {
    for (const key of others) {
      const token = await signOwn(key, { exp: now() + 3600, iat: now() });
      expect((await callWithToken(remote, token)).status, key.alg).toBe(200);
    }
  });

  it('rejects a bad token with 401', async () => {
    const expired = await signOwn(rsa, { exp: now() - 60 });
    expect(expectUnauthenticated(await callWithToken(remote, expired), 'expired', expired)).toMatch(
      /expired/i,
    );
    const foreign = await service.keys.mint();
    secrets.add(foreign);
    expectUnauthenticated(await callWithToken(remote, foreign), 'key it does not serve', foreign);
    const forged = await signOwn(
      { ...rsa, privateKey: (await ownKey('own-rs256', 'RS256')).privateKey },
      {
        exp: now() + 3600,
      },
    );
    expect(expectUnauthenticated(await callWithToken(remote, forged), 'forged', forged)).toMatch(
      /signature/i,
    );
  });

  it('requires exp', async () => {
    const token = await signOwn(rsa, { iat: now() });
    const reason = expectUnauthenticated(await callWithToken(remote, token), 'no exp', token);
    expect(reason).toMatch(/\bexp\b|expiration/i);
    expect(reason).not.toMatch(/expired/i);
  });

  it('rejects a token whose nbf is in the future', async () => {
    const token = await signOwn(rsa, { exp: now() + 7200, iat: now(), nbf: now() + 3600 });
    const reason = expectUnauthenticated(await callWithToken(remote, token), 'nbf', token);
    expect(reason).toMatch(/not yet valid|nbf/i);
  });

  it('rejects a token issued in the future (iat an hour ahead)', async () => {
    const token = await signOwn(rsa, { exp: now() + 7200, iat: now() + 3600 });
    const reason = expectUnauthenticated(await callWithToken(remote, token), 'iat', token);
    expect(reason).toMatch(/not yet valid|iat|future/i);
  });

  it('caches the keys instead of fetching them for every request', async () => {
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) {
      const token = await signOwn(rsa, { exp: now() + 3600 });
      expect((await callWithToken(remote, token)).status).toBe(200);
    }
    expect(jwksRequests - before).toBe(0);
    // Unknown kids may trigger a refresh, but a rate-limited one.
    for (let i = 0; i < 5; i++) {
      const token = await signOwn({ ...rsa, kid: `unknown-${i}` }, { exp: now() + 3600 });
      expectUnauthenticated(await callWithToken(remote, token), 'unknown kid', token);
    }
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });
});

describe('with the JWKS URL unreachable', () => {
  let unreachable: TestService;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    unreachable = await startTestService({
      jwkCertFile: '',
      jwkCertUrl: `http://127.0.0.1:${port}/jwks.json`,
    });
    allLogs.push(unreachable.logs);
  });
  afterAll(async () => {
    await unreachable?.stop();
  });

  it('answers 401, not a 5xx', async () => {
    const token = await unreachable.keys.mint();
    secrets.add(token);
    const response = await callWithToken(unreachable, token);
    expectUnauthenticated(response, 'keys unavailable', token);
  });
});

describe('log hygiene', () => {
  it('never writes a token or an Authorization header value to the logs', () => {
    expect(secrets.size).toBeGreaterThan(20);
    expect(allLogs).toHaveLength(3);
    expect(service.logs.length).toBeGreaterThan(20);
    const lines = allLogs.flat().map((line) => JSON.stringify(line));
    expect(lines.some((line) => line.includes('"status":401'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toMatch(jwtShape);
      expect(line).not.toMatch(/"authorization"/i);
      for (const secret of secrets) {
        if (secret.length >= 10) expect(line).not.toContain(secret);
        const token = secret.replace(/^\S+\s+/, '');
        if (token.length >= 10) expect(line).not.toContain(token);
      }
    }
  });
});
