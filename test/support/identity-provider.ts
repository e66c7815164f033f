import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

// A key pair of this test run's own: its private half signs tokens, its public half is served.
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly jwk: JWK;
  // A token with exactly `claims` (nothing is added: no iat, no exp unless given).
  signRaw(claims: JWTPayload, kid?: string): Promise<string>;
  // A token valid for an hour (iat now, exp in an hour) unless `claims` say otherwise.
  sign(claims?: JWTPayload, kid?: string): Promise<string>;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const signRaw = async (claims: JWTPayload, otherKid?: string): Promise<string> =>
    await new SignJWT(claims)
      .setProtectedHeader({ alg, kid: otherKid ?? kid, typ: 'JWT' })
      .sign(privateKey as CryptoKey);
  return {
    kid,
    alg,
    jwk,
    signRaw,
    sign: async (claims = {}, otherKid) =>
      await signRaw({ iat: nowSeconds(), exp: nowSeconds() + 3600, ...claims }, otherKid),
  };
}

// The public halves of `keys` as a JWKS file in a fresh temporary directory.
export function jwksFile(keys: readonly SigningKey[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'trex-idp-')), 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: keys.map((key) => key.jwk) }));
  return file;
}

export type IdpMode = 'ok' | 'fail';

// A local identity provider with node:http: a JWKS at /jwks.json, and OpenID Connect discovery for the
// issuer `<url>/realms/trex` (its jwks_uri is `<url>/realms/trex/protocol/openid-connect/certs`). Its
// keys can be rotated, its answers switched to 500, and it can be stopped; it counts every request.
export interface IdentityProvider {
  readonly url: string;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly oidcJwksUrl: string;
  // Serves the public halves of `keys` from now on.
  serve(keys: readonly SigningKey[]): void;
  // 'fail': every request is answered 500 (and still counted).
  setMode(mode: IdpMode): void;
  // How many requests reached each path (the JWKS paths and the discovery document).
  requests(path: string): number;
  // The headers of the last request to a path.
  lastHeaders(path: string): IncomingHttpHeaders | undefined;
  jwksRequests(): number;
  readonly stopped: boolean;
  // Closes the listener and every open connection; the port then refuses connections.
  stop(): Promise<void>;
}

export async function startIdentityProvider(keys: readonly SigningKey[]): Promise<IdentityProvider> {
  let served = JSON.stringify({ keys: keys.map((key) => key.jwk) });
  let mode: IdpMode = 'ok';
  let stopped = false;
  const counts = new Map<string, number>();
  const headers = new Map<string, IncomingHttpHeaders>();
  const realm = '/realms/trex';
  const discoveryPath = `${realm}/.well-known/openid-configuration`;
  const oidcJwksPath = `${realm}/protocol/openid-connect/certs`;
  let base = '';

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    headers.set(path, request.headers);
    if (mode === 'fail') {
      response.writeHead(500, { 'content-type': 'text/plain' }).end('identity provider is down');
      return;
    }
    if (path === '/jwks.json' || path === oidcJwksPath) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(served);
    } else if (path === discoveryPath) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: `${base}${realm}`,
          jwks_uri: `${base}${oidcJwksPath}`,
          authorization_endpoint: `${base}${realm}/protocol/openid-connect/auth`,
          token_endpoint: `${base}${realm}/protocol/openid-connect/token`,
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    jwksUrl: `${base}/jwks.json`,
    issuer: `${base}${realm}`,
    discoveryUrl: `${base}${discoveryPath}`,
    oidcJwksUrl: `${base}${oidcJwksPath}`,
    serve: (next) => {
      served = JSON.stringify({ keys: next.map((key) => key.jwk) });
    },
    setMode: (next) => {
      mode = next;
    },
    requests: (path) => counts.get(path) ?? 0,
    lastHeaders: (path) => headers.get(path),
    jwksRequests: () => (counts.get('/jwks.json') ?? 0) + (counts.get(oidcJwksPath) ?? 0),
    get stopped() {
      return stopped;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

// The value of a counter with exactly these labels in a Prometheus text exposition (0 when absent).
export function counterValue(exposition: string, name: string, labels: Record<string, string>): number {
  for (const line of exposition.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      found[pair[1] as string] = pair[2] as string;
    }
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return 0;
}
