import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnvironment,
  freePorts,
  runTrex,
  startTrex,
  type TrexProcess,
  waitFor,
} from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import {
  counterValue,
  type IdentityProvider,
  jwksFile,
  nowSeconds,
  type SigningKey,
  signingKey,
  startIdentityProvider,
} from '../support/identity-provider.ts';
import type { ApiResponse, TestService } from '../support/service.ts';
import { startTracedService } from '../support/traced-service.ts';

const apiBase = '/api/rh-trex/v1';
const collection = `${apiBase}/dinosaurs`;
const jwtShape = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

// Every token and cookie value this file sends, and the logs of every service it starts, so the last
// test can check that none of them reached a log line.
const secrets = new Set<string>();
const allLogs: Record<string, unknown>[][] = [];
const processOutputs: (() => string)[] = [];

// Everything a test started, undone after it even when it failed.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function traced(flags: Parameters<typeof startTracedService>[0]): Promise<TestService> {
  const service = await startTracedService(flags);
  allLogs.push(service.logs);
  return service;
}

// Calls `target` with this token as `Authorization: Bearer` (or with the given headers only).
async function callWith(
  target: TestService,
  token: string | undefined,
  headers: Record<string, string> = {},
  path = collection,
): Promise<ApiResponse> {
  if (token) secrets.add(token);
  return await target.api(path, {
    token: null,
    headers: token === undefined ? headers : { ...headers, authorization: `Bearer ${token}` },
  });
}

function expectUnauthenticated(response: ApiResponse, label: string): string {
  expect(response.status, `${label}: ${response.text}`).toBe(401);
  expect(response.headers.get('www-authenticate'), label).toMatch(/^Bearer\b/);
  expect(response.body, label).toMatchObject({ kind: 'Error', id: '15', code: 'rh-trex-15' });
  const reason = String(response.body.reason);
  for (const secret of secrets) expect(reason, label).not.toContain(secret);
  return reason;
}

async function metricsOf(target: TestService): Promise<string> {
  const response = await fetch(`${target.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  return await response.text();
}

async function failedFetches(target: TestService): Promise<number> {
  return counterValue(await metricsOf(target), 'auth_jwks_fetch_count', { result: 'failed' });
}

// Waiting out a refresh interval is the behaviour under test: the service may fetch again only after it.
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('keys from a JWKS URL, rotated by the identity provider', () => {
  let idp: IdentityProvider;
  let service: TestService;
  let keyA: SigningKey;
  let keyB: SigningKey;
  let keyC: SigningKey;

  beforeAll(async () => {
    [keyA, keyB, keyC] = await Promise.all([signingKey('key-a'), signingKey('key-b'), signingKey('key-c')]);
    idp = await startIdentityProvider([keyA]);
    service = await traced({ jwkCertFile: '', jwkCertUrl: idp.jwksUrl, jwksRefreshInterval: '500ms' });
  });
  afterAll(async () => {
    await service?.stop();
    await idp?.stop();
  });

  it('accepts tokens of the served key, fetching the JWKS once for many requests', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await callWith(service, await keyA.sign({ username: `a-${i}` }));
      expect(response.status, response.text).toBe(200);
    }
    expect(idp.jwksRequests()).toBe(1);
  });

  it('trusts a new key (new kid) after the identity provider rotates, with no restart', async () => {
    idp.serve([keyB]);
    const before = idp.jwksRequests();
    const tokenB = await keyB.sign({ username: 'rotated' });
    await waitFor(
      async () => {
        const response = await callWith(service, tokenB);
        expect(response.status, response.text).toBeLessThan(500);
        return response.status === 200;
      },
      'a token of the new key is accepted',
      10_000,
      100,
    );
    expect(idp.jwksRequests()).toBeGreaterThan(before);
    // The old key is no longer served, so once refreshed it is no longer trusted.
    await pause(600);
    const reason = expectUnauthenticated(
      await callWith(service, await keyA.sign({ username: 'old' })),
      'old key',
    );
    expect(reason).toMatch(/unknown key/);
  });

  it('fetches through the outbound client: counted by host and code, with the operation id of the request that needed the keys', async () => {
    idp.serve([keyA, keyB, keyC]);
    await pause(600); // past the refresh interval: a token of a key not yet known fetches again
    const before = idp.jwksRequests();
    const operationId = `jwks-${Date.now()}`;
    const response = await callWith(service, await keyC.sign({ username: 'fetcher' }), {
      'x-operation-id': operationId,
    });
    expect(response.status, response.text).toBe(200);
    expect(idp.jwksRequests()).toBe(before + 1);
    const fetched = idp.lastHeaders('/jwks.json');
    expect(fetched?.['x-operation-id']).toBe(operationId);
    expect(fetched?.['user-agent']).toMatch(/^rh-trex\//);
    const host = new URL(idp.url).host;
    expect(
      counterValue(await metricsOf(service), 'api_outbound_request_count', { host, code: '200' }),
    ).toBeGreaterThanOrEqual(before + 1);
  });

  it('rate-limits refreshes: 20 unknown kids in quick succession cause at most two fetches', async () => {
    const unknown = await Promise.all(
      Array.from({ length: 20 }, (_, i) => keyC.sign({ username: 'probe' }, `unknown-kid-${i}`)),
    );
    await pause(600); // the refresh interval is over: the first unknown kid may fetch again
    const before = idp.jwksRequests();
    const started = Date.now();
    for (const [i, token] of unknown.entries()) {
      const reason = expectUnauthenticated(await callWith(service, token), `unknown kid ${i}`);
      expect(reason).toMatch(/unknown key/);
    }
    const sequential = idp.jwksRequests() - before;
    expect(sequential).toBeGreaterThanOrEqual(1); // an unknown kid does trigger a refresh
    // At most one fetch per 500 ms interval the burst spanned (it normally spans one: 20 requests).
    expect(sequential).toBeLessThanOrEqual(Math.max(2, 1 + Math.ceil((Date.now() - started) / 500)));

    // And at once, concurrently: one shared fetch at most.
    const again = await Promise.all(
      Array.from({ length: 20 }, (_, i) => keyC.sign({ username: 'probe' }, `other-kid-${i}`)),
    );
    await pause(600);
    const beforeConcurrent = idp.jwksRequests();
    const responses = await Promise.all(again.map((token) => callWith(service, token)));
    for (const response of responses) expectUnauthenticated(response, 'concurrent unknown kid');
    expect(idp.jwksRequests() - beforeConcurrent).toBeGreaterThanOrEqual(1);
    expect(idp.jwksRequests() - beforeConcurrent).toBeLessThanOrEqual(2);

    // A known key is still served from the cache.
    const cached = idp.jwksRequests();
    expect((await callWith(service, await keyB.sign())).status).toBe(200);
    expect(idp.jwksRequests()).toBe(cached);
  });

  it('keeps the cached keys when the JWKS answers 500, and logs and counts the failure', async () => {
    idp.setMode('fail');
    await pause(600);
    const failedBefore = await failedFetches(service);
    const before = idp.jwksRequests();
    const reason = expectUnauthenticated(
      await callWith(service, await keyC.sign({}, 'unknown-while-down')),
      'unknown kid while the JWKS fails',
    );
    expect(reason).toMatch(/unknown key|signing keys are unavailable/);
    expect(idp.jwksRequests()).toBeGreaterThan(before); // it did try
    for (let i = 0; i < 3; i++) {
      const response = await callWith(service, await keyB.sign({ username: `cached-${i}` }));
      expect(response.status, response.text).toBe(200);
    }
    await waitFor(
      async () => (await failedFetches(service)) > failedBefore,
      'auth_jwks_fetch_count{result="failed"} counts the failure',
      5_000,
    );
    expect(
      service.logs.some((line) => Number(line.level) >= 40 && /JWKS/i.test(String(line.msg))),
      'a warning about the failed JWKS fetch',
    ).toBe(true);
  });

  it('picks up a new key once the JWKS answers again', async () => {
    idp.setMode('ok');
    idp.serve([keyB, keyC]);
    const tokenC = await keyC.sign({ username: 'recovered' });
    await waitFor(
      async () => (await callWith(service, tokenC)).status === 200,
      'a token of key C is accepted once the JWKS answers again',
      10_000,
      100,
    );
    expect((await callWith(service, await keyB.sign())).status).toBe(200);
    const ok = counterValue(await metricsOf(service), 'auth_jwks_fetch_count', { result: 'ok' });
    expect(ok).toBeGreaterThanOrEqual(3);
  });

  it('keeps the cached keys when the JWKS server is gone: unknown kids are 401, never 5xx', async () => {
    await idp.stop();
    await pause(600);
    const failedBefore = await failedFetches(service);
    for (let i = 0; i < 5; i++) {
      const response = await callWith(service, await keyA.sign({}, `gone-kid-${i}`));
      expect(response.status).toBeLessThan(500);
      expectUnauthenticated(response, `unknown kid ${i} with the JWKS server gone`);
    }
    for (const key of [keyB, keyC]) {
      const response = await callWith(service, await key.sign({ username: 'still-cached' }));
      expect(response.status, `${key.kid}: ${response.text}`).toBe(200);
    }
    await waitFor(
      async () => (await failedFetches(service)) > failedBefore,
      'the failed fetch of a stopped JWKS server is counted',
      5_000,
    );
    // The service itself is fine: it stays ready, and a write with a cached key works.
    expect((await fetch(`${service.healthUrl}/healthcheck`)).status).toBe(200);
    const created = await service.api(collection, {
      method: 'POST',
      body: { species: 'Survivosaurus' },
      token: await keyB.sign(),
    });
    expect(created.status).toBe(201);
  });
});

describe('a JWKS URL that fails from the start', () => {
  let idp: IdentityProvider;
  let service: TestService;
  let key: SigningKey;

  beforeAll(async () => {
    key = await signingKey('late-key');
    idp = await startIdentityProvider([key]);
    idp.setMode('fail');
    service = await traced({ jwkCertFile: '', jwkCertUrl: idp.jwksUrl, jwksRefreshInterval: '1s' });
  });
  afterAll(async () => {
    await service?.stop();
    await idp?.stop();
  });

  it('answers 401 (never 5xx) with a reason saying the signing keys are unavailable', async () => {
    const response = await callWith(service, await key.sign());
    expect(response.status).toBeLessThan(500);
    const reason = expectUnauthenticated(response, 'no keys yet');
    expect(reason).toMatch(/signing keys are unavailable/);
    await waitFor(async () => (await failedFetches(service)) > 0, 'the failure is counted', 5_000);
  });

  it('fetches at most once per refresh interval while it has no keys', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => key.sign({ username: `u${i}` })));
    const before = idp.jwksRequests();
    const started = Date.now();
    for (const token of tokens) expectUnauthenticated(await callWith(service, token), 'no keys');
    const elapsed = Date.now() - started;
    // One fetch per started second of the burst at most (the interval is 1 s), plus one.
    expect(idp.jwksRequests() - before).toBeLessThanOrEqual(2 + Math.floor(elapsed / 1000));
  });

  it('trusts the keys once the identity provider answers', async () => {
    idp.setMode('ok');
    const token = await key.sign({ username: 'finally' });
    await waitFor(
      async () => (await callWith(service, token)).status === 200,
      'the token is accepted once the JWKS answers',
      10_000,
      200,
    );
  });
});

describe('OpenID Connect discovery (--oidc-issuer-url)', () => {
  let idp: IdentityProvider;
  let key: SigningKey;
  let plain: TestService; // --oidc-issuer-url only
  let strict: TestService; // plus --jwt-issuer and --jwt-audience

  beforeAll(async () => {
    key = await signingKey('oidc-key', 'ES256');
    idp = await startIdentityProvider([key]);
    plain = await traced({ jwkCertFile: '', oidcIssuerUrl: idp.issuer });
    strict = await traced({
      jwkCertFile: '',
      oidcIssuerUrl: idp.issuer,
      jwtIssuer: idp.issuer,
      jwtAudience: 'trex',
    });
  });
  afterAll(async () => {
    await plain?.stop();
    await strict?.stop();
    await idp?.stop();
  });

  it("finds the keys through the issuer's discovery document and accepts tokens of that key", async () => {
    const response = await callWith(plain, await key.sign({ username: 'oidc-user' }));
    expect(response.status, response.text).toBe(200);
    expect(response.body.kind).toBe('DinosaurList');
    expect(idp.requests(new URL(idp.discoveryUrl).pathname)).toBeGreaterThanOrEqual(1);
    expect(idp.requests(new URL(idp.oidcJwksUrl).pathname)).toBeGreaterThanOrEqual(1);
    expect(idp.requests('/jwks.json')).toBe(0);
    // Cached: more tokens fetch nothing more.
    const fetched = idp.jwksRequests();
    for (let i = 0; i < 3; i++) expect((await callWith(plain, await key.sign())).status).toBe(200);
    expect(idp.jwksRequests()).toBe(fetched);
    // A key the issuer does not publish is refused.
    const stranger = await signingKey('oidc-key', 'ES256');
    const reason = expectUnauthenticated(await callWith(plain, await stranger.sign()), 'foreign key');
    expect(reason).toMatch(/signature/);
  });

  it('with --jwt-issuer, refuses a token of another or no issuer with "wrong issuer"', async () => {
    const good = await callWith(strict, await key.sign({ iss: idp.issuer, aud: 'trex' }));
    expect(good.status, good.text).toBe(200);
    for (const iss of [undefined, 'https://evil.example.com/realms/trex', `${idp.issuer}/`, `${idp.url}`]) {
      const token = await key.sign(iss === undefined ? { aud: 'trex' } : { iss, aud: 'trex' });
      const reason = expectUnauthenticated(await callWith(strict, token), `iss ${iss}`);
      expect(reason, `iss ${iss}`).toContain('wrong issuer');
    }
  });

  it('with --jwt-audience, refuses a token without that audience with "wrong audience"', async () => {
    const wrong: (string | string[] | undefined)[] = [
      undefined,
      'other',
      ['x', 'y'],
      'trex-admin',
      'TREX',
      [],
    ];
    for (const aud of wrong) {
      const token = await key.sign(aud === undefined ? { iss: idp.issuer } : { iss: idp.issuer, aud });
      const reason = expectUnauthenticated(await callWith(strict, token), `aud ${JSON.stringify(aud)}`);
      expect(reason, `aud ${JSON.stringify(aud)}`).toContain('wrong audience');
    }
    for (const aud of ['trex', ['x', 'trex'], ['trex']]) {
      const response = await callWith(strict, await key.sign({ iss: idp.issuer, aud }));
      expect(response.status, `aud ${JSON.stringify(aud)}: ${response.text}`).toBe(200);
    }
  });

  it('uses --jwk-cert-url rather than discovery when both are set', async () => {
    const other = await signingKey('direct-key');
    const direct = await startIdentityProvider([other]);
    cleanups.push(() => direct.stop());
    const discoveriesBefore = idp.requests(new URL(idp.discoveryUrl).pathname);
    const both = await traced({ jwkCertFile: '', jwkCertUrl: direct.jwksUrl, oidcIssuerUrl: idp.issuer });
    cleanups.push(() => both.stop());
    expect((await callWith(both, await other.sign())).status).toBe(200);
    expectUnauthenticated(await callWith(both, await key.sign()), 'a key only the OIDC issuer publishes');
    expect(idp.requests(new URL(idp.discoveryUrl).pathname)).toBe(discoveriesBefore);
  });
});

describe('clock skew', () => {
  let key: SigningKey;
  let skewed: TestService; // --jwt-clock-skew=5s
  let standard: TestService; // the default, 30 s

  beforeAll(async () => {
    key = await signingKey('skew-key');
    const file = jwksFile([key]);
    [skewed, standard] = await Promise.all([
      traced({ jwkCertFile: file, jwtClockSkew: '5s' }),
      traced({ jwkCertFile: file }),
    ]);
  });
  afterAll(async () => {
    await skewed?.stop();
    await standard?.stop();
  });

  it('accepts a token expired within the skew and refuses one expired beyond it', async () => {
    const iat = nowSeconds() - 600;
    expect((await callWith(skewed, await key.signRaw({ iat, exp: nowSeconds() - 2 }))).status).toBe(200);
    for (const ago of [10, 60]) {
      const token = await key.signRaw({ iat, exp: nowSeconds() - ago });
      expect(expectUnauthenticated(await callWith(skewed, token), `expired ${ago} s ago`)).toMatch(
        /token expired/,
      );
    }
  });

  it('accepts nbf within the skew ahead and refuses it beyond', async () => {
    const claims = () => ({ iat: nowSeconds(), exp: nowSeconds() + 3600 });
    expect((await callWith(skewed, await key.signRaw({ ...claims(), nbf: nowSeconds() + 2 }))).status).toBe(
      200,
    );
    for (const ahead of [10, 60]) {
      const token = await key.signRaw({ ...claims(), nbf: nowSeconds() + ahead });
      expect(expectUnauthenticated(await callWith(skewed, token), `nbf ${ahead} s ahead`)).toMatch(
        /not yet valid/,
      );
    }
  });

  it('accepts iat within the skew ahead and refuses it beyond', async () => {
    const exp = nowSeconds() + 3600;
    expect((await callWith(skewed, await key.signRaw({ iat: nowSeconds() + 2, exp }))).status).toBe(200);
    for (const ahead of [10, 60]) {
      const token = await key.signRaw({ iat: nowSeconds() + ahead, exp });
      expect(expectUnauthenticated(await callWith(skewed, token), `iat ${ahead} s ahead`)).toMatch(
        /not yet valid/,
      );
    }
  });

  it('allows 30 s by default', async () => {
    const iat = nowSeconds() - 600;
    expect((await callWith(standard, await key.signRaw({ iat, exp: nowSeconds() - 15 }))).status).toBe(200);
    expectUnauthenticated(await callWith(standard, await key.signRaw({ iat, exp: nowSeconds() - 60 })), '60');
    const exp = nowSeconds() + 3600;
    expect((await callWith(standard, await key.signRaw({ iat, exp, nbf: nowSeconds() + 15 }))).status).toBe(
      200,
    );
    expectUnauthenticated(
      await callWith(standard, await key.signRaw({ iat, exp, nbf: nowSeconds() + 60 })),
      'nbf 60',
    );
  });
});

describe('the cs_jwt cookie and the account', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await traced({});
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function withCookie(cookie: string, authorization?: string): Promise<ApiResponse> {
    const match = /cs_jwt=([^;]*)/.exec(cookie);
    if (match?.[1]) secrets.add(match[1]);
    if (authorization) secrets.add(authorization);
    return await service.api(collection, {
      token: null,
      headers: authorization ? { cookie, authorization } : { cookie },
    });
  }

  it('accepts a valid token in the cs_jwt cookie with no Authorization header', async () => {
    const token = await service.keys.mint({ username: 'crumb-user' });
    const response = await withCookie(`cs_jwt=${token}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.kind).toBe('DinosaurList');
    expect((await withCookie(`theme=dark; cs_jwt=${token}; lang=en`)).status).toBe(200);
    secrets.add(token);
    const created = await service.api(collection, {
      method: 'POST',
      body: { species: 'Cookiosaurus' },
      token: null,
      headers: { cookie: `cs_jwt=${token}` },
    });
    expect(created.status).toBe(201);
  });

  it('refuses an invalid cookie with 401 code 15, naming the cause', async () => {
    expect(expectUnauthenticated(await withCookie('cs_jwt=garbage.token.value'), 'garbage')).not.toMatch(
      /missing/,
    );
    const expired = await service.keys.mint({ exp: nowSeconds() - 3600 });
    expect(expectUnauthenticated(await withCookie(`cs_jwt=${expired}`), 'expired')).toMatch(/expired/);
    const foreign = await (await signingKey('test-key')).sign();
    expect(expectUnauthenticated(await withCookie(`cs_jwt=${foreign}`), 'foreign')).toMatch(/signature/);
  });

  it('reads only the cs_jwt cookie', async () => {
    const token = await service.keys.mint();
    for (const cookie of [`jwt=${token}`, `cs_jwt_other=${token}`, `session=${token}`]) {
      secrets.add(token);
      expect(expectUnauthenticated(await withCookie(cookie), cookie.split('=')[0] as string)).toMatch(
        /missing/,
      );
    }
  });

  it('prefers the Authorization header to the cookie', async () => {
    const good = await service.keys.mint({ username: 'header-wins' });
    const expired = await service.keys.mint({ exp: nowSeconds() - 3600 });
    expect(
      expectUnauthenticated(await withCookie(`cs_jwt=${good}`, 'Bearer not-a-token'), 'bad header'),
    ).not.toMatch(/missing/);
    expect(
      expectUnauthenticated(await withCookie(`cs_jwt=${good}`, `Bearer ${expired}`), 'expired header'),
    ).toMatch(/expired/);
    expect(
      expectUnauthenticated(await withCookie(`cs_jwt=${good}`, `Basic dXNlcjpwYXNz`), 'basic header'),
    ).toMatch(/malformed/);
    expect((await withCookie('cs_jwt=garbage', `Bearer ${good}`)).status).toBe(200);
  });

  // The request log line of the response, once written (it is written as the response finishes).
  async function requestLine(response: ApiResponse): Promise<Record<string, unknown>> {
    const operationId = response.headers.get('x-operation-id');
    expect(operationId).toBeTruthy();
    let line: Record<string, unknown> | undefined;
    await waitFor(
      () => {
        line = service.logs.find((entry) => entry.msg === 'request' && entry.operation_id === operationId);
        return line !== undefined;
      },
      `the request line of ${operationId}`,
      5_000,
      20,
    );
    return line as Record<string, unknown>;
  }

  it('logs the username of the token, never its email, name or the token itself', async () => {
    const token = await service.keys.mint({
      username: 'alice',
      preferred_username: 'alice-preferred',
      sub: 'f:1234:alice',
      email: 'alice.liddell@example.com',
      name: 'Alice Pleasance Liddell',
    });
    const response = await callWith(service, token);
    expect(response.status).toBe(200);
    const line = await requestLine(response);
    expect(line.username).toBe('alice');
    expect(line.status).toBe(200);
    const text = JSON.stringify(line);
    for (const absent of [token, 'alice.liddell@example.com', 'Alice Pleasance Liddell', 'alice-preferred']) {
      expect(text).not.toContain(absent);
    }
  });

  it('takes the username from preferred_username when there is no username, else from sub', async () => {
    const preferred = await service.keys.mint({
      username: undefined,
      preferred_username: 'bob',
      sub: 'f:5678:bob',
      email: 'bob@example.com',
    });
    const byPreferred = await callWith(service, preferred);
    expect(byPreferred.status).toBe(200);
    expect((await requestLine(byPreferred)).username).toBe('bob');

    const subOnly = await service.keys.mint({ username: undefined, sub: 'service-account-7' });
    const bySub = await callWith(service, subOnly);
    expect(bySub.status).toBe(200);
    expect((await requestLine(bySub)).username).toBe('service-account-7');

    const cookie = await service.keys.mint({ username: 'carol-crumb' });
    const byCookie = await withCookie(`cs_jwt=${cookie}`);
    expect(byCookie.status).toBe(200);
    expect((await requestLine(byCookie)).username).toBe('carol-crumb');
  });

  it('logs no username for a refused request', async () => {
    const response = await callWith(service, await service.keys.mint({ exp: nowSeconds() - 3600 }));
    expect(response.status).toBe(401);
    const line = await requestLine(response);
    expect(line.status).toBe(401);
    expect(line.username).toBeUndefined();
  });
});

describe('development tokens (trex token and trex serve --enable-jwt in development)', () => {
  const development = cleanEnvironment({ TREX_ENV: 'development' });
  let cwd: string;

  function temporaryDirectory(): string {
    const directory = mkdtempSync(join(tmpdir(), 'trex-devkey-'));
    chmodSync(directory, 0o755);
    return directory;
  }

  beforeAll(() => {
    cwd = temporaryDirectory();
  });
  afterAll(() => {
    rmSync(cwd, { recursive: true, force: true });
  });

  function lines(text: string): string[] {
    return text.split('\n').filter((line) => line.trim() !== '');
  }

  async function token(directory: string, args: string[] = []): Promise<string> {
    const result = await runTrex(['token', ...args], { cwd: directory, env: development });
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout), result.stdout).toHaveLength(1);
    const printed = result.stdout.trim();
    secrets.add(printed);
    return printed;
  }

  async function serve(args: string[]): Promise<{ trex: TrexProcess; apiUrl: string }> {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const [api, metrics, health] = await freePorts(3);
    const apiUrl = `http://127.0.0.1:${api}`;
    const trex = startTrex(
      [
        'serve',
        ...args,
        '--db-url',
        database.url,
        `--api-server-bindaddress=127.0.0.1:${api}`,
        `--metrics-server-bindaddress=127.0.0.1:${metrics}`,
        `--health-check-server-bindaddress=127.0.0.1:${health}`,
      ],
      { cwd, env: development },
    );
    cleanups.push(() => trex.kill());
    processOutputs.push(() => trex.stdout() + trex.stderr());
    await waitFor(
      async () => {
        if (trex.hasExited())
          throw new Error(`trex exited:\n${trex.stderr()}\n${trex.stdout().slice(-2000)}`);
        try {
          return (await fetch(`${apiUrl}${apiBase}`)).status === 200;
        } catch {
          return false;
        }
      },
      `${apiUrl} serves`,
      60_000,
      250,
    );
    return { trex, apiUrl };
  }

  const get = (apiUrl: string, headers: Record<string, string> = {}) =>
    fetch(`${apiUrl}${collection}`, { headers });

  it('`trex token --username alice` prints one line: a JWT of a development key made under .trex/dev-key/', async () => {
    const printed = await token(cwd, ['--username', 'alice']);
    expect(printed).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const claims = decodeJwt(printed);
    expect(claims.username).toBe('alice');
    expect(typeof claims.exp).toBe('number');
    expect(typeof claims.iat).toBe('number');
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(Math.abs((claims.iat as number) - nowSeconds())).toBeLessThan(120);

    const keyDir = join(cwd, '.trex', 'dev-key');
    const privateFile = join(keyDir, 'private.jwk.json');
    const publicFile = join(keyDir, 'jwks.json');
    expect(existsSync(privateFile)).toBe(true);
    expect(existsSync(publicFile)).toBe(true);
    expect(statSync(privateFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(privateFile, 'utf8')).d).toEqual(expect.any(String));
    const jwks = JSON.parse(readFileSync(publicFile, 'utf8')) as JSONWebKeySet;
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
    // The token verifies against the published development key.
    const verified = await jwtVerify(printed, createLocalJWKSet(jwks));
    expect(verified.payload.username).toBe('alice');
    expect(jwks.keys.map((key) => key.kid)).toContain(decodeProtectedHeader(printed).kid);
  }, 60_000);

  it('reuses the key on later runs and signs the claims and lifetime asked for', async () => {
    const publicFile = join(cwd, '.trex', 'dev-key', 'jwks.json');
    const before = readFileSync(publicFile, 'utf8');
    const printed = await token(cwd, [
      '--username',
      'bob',
      '--expires-in',
      '8h',
      '--claim',
      'groups=trex-admins',
    ]);
    expect(readFileSync(publicFile, 'utf8')).toBe(before);
    const { payload } = await jwtVerify(printed, createLocalJWKSet(JSON.parse(before) as JSONWebKeySet));
    expect(payload.username).toBe('bob');
    expect(payload.groups).toBe('trex-admins');
    expect((payload.exp as number) - (payload.iat as number)).toBe(8 * 3600);
  }, 60_000);

  it('`trex serve --enable-jwt` in development trusts that key and refuses no token', async () => {
    const alice = await token(cwd, ['--username', 'alice']);
    const elsewhere = temporaryDirectory();
    cleanups.push(() => rmSync(elsewhere, { recursive: true, force: true }));
    const otherDevelopmentKey = await token(elsewhere, ['--username', 'alice']);

    const { trex, apiUrl } = await serve(['--enable-jwt']);
    const accepted = await get(apiUrl, { authorization: `Bearer ${alice}` });
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { kind: string }).kind).toBe('DinosaurList');
    expect((await get(apiUrl, { cookie: `cs_jwt=${alice}` })).status).toBe(200);

    const missing = await get(apiUrl);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(((await missing.json()) as { code: string }).code).toBe('rh-trex-15');
    // A development key of another directory is not this one.
    expect((await get(apiUrl, { authorization: `Bearer ${otherDevelopmentKey}` })).status).toBe(401);

    trex.child.kill('SIGTERM');
    await trex.exited;
    expect(trex.stdout() + trex.stderr()).not.toContain(alice);
  }, 120_000);

  it('does not trust the development key when another key source is configured', async () => {
    const alice = await token(cwd, ['--username', 'alice']);
    const other = await signingKey('configured-key');
    const { trex, apiUrl } = await serve(['--enable-jwt', `--jwk-cert-file=${jwksFile([other])}`]);
    const configured = await other.sign({ username: 'configured' });
    secrets.add(configured);
    expect((await get(apiUrl, { authorization: `Bearer ${configured}` })).status).toBe(200);
    const refused = await get(apiUrl, { authorization: `Bearer ${alice}` });
    expect(refused.status).toBe(401);
    trex.child.kill('SIGTERM');
    await trex.exited;
  }, 120_000);
});

describe('log hygiene', () => {
  it('never writes a token, cookie or Authorization header to any log line, at any level', () => {
    expect(secrets.size).toBeGreaterThan(50);
    expect(allLogs.length).toBeGreaterThanOrEqual(8);
    const lines = [
      ...allLogs.flat().map((line) => JSON.stringify(line)),
      ...processOutputs.flatMap((output) => output().split('\n')),
    ];
    expect(lines.some((line) => line.includes('"status":401'))).toBe(true);
    expect(lines.some((line) => line.includes('"level":10') || line.includes('"level":20'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toMatch(jwtShape);
      expect(line).not.toMatch(/authorization|cs_jwt|cookie/i);
      for (const secret of secrets) {
        if (secret.length >= 10) expect(line).not.toContain(secret);
      }
    }
  });
});
