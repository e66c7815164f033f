import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import type { Logger } from 'pino';

export interface KeyStoreObserver {
  jwksFetched(ok: boolean): void;
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

// Keys that sign tokens, cached by `kid`. A token naming an unknown key triggers a fetch of the JWKS,
// at most once per `refreshIntervalMs`, so the identity provider can rotate keys without a restart.
// When the JWKS cannot be fetched, the keys already known keep working: an identity provider that is
// down does not take the service down.
export class RemoteKeyStore {
  private keys: KeyResolver | undefined;
  private lastFetch = 0;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly jwksUrl: () => Promise<string>,
    private readonly refreshIntervalMs: number,
    private readonly observer: KeyStoreObserver,
    private readonly logger: Logger,
  ) {}

  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.keys && Date.now() - this.lastFetch >= this.refreshIntervalMs) await this.refresh();
    try {
      return await this.resolve(header, token);
    } catch (error) {
      if (
        !(error instanceof errors.JWKSNoMatchingKey) ||
        Date.now() - this.lastFetch < this.refreshIntervalMs
      )
        throw error;
      await this.refresh();
      return await this.resolve(header, token);
    }
  };

  private async resolve(header: JWSHeaderParameters, token: FlattenedJWSInput): ReturnType<KeyResolver> {
    // Not a JOSE error: the token may be fine, the keys are what is missing.
    if (!this.keys) throw new Error('signing keys are unavailable');
    return await this.keys(header, token);
  }

  // One fetch at a time; concurrent requests with unknown keys share it.
  private async refresh(): Promise<void> {
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    await this.fetching;
  }

  private async fetch(): Promise<void> {
    this.lastFetch = Date.now();
    try {
      const url = await this.jwksUrl();
      const response = await fetch(url, {
        signal: AbortSignal.timeout(5000),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
      this.keys = createLocalJWKSet((await response.json()) as JSONWebKeySet);
      this.observer.jwksFetched(true);
    } catch (error) {
      this.observer.jwksFetched(false);
      this.logger.warn({ err: error }, 'fetching the JWKS failed; the keys already known stay in use');
    }
  }
}

// OpenID Connect discovery: the issuer's `jwks_uri`, looked up once and again after a failure.
export function discoveredJwksUrl(issuerUrl: string): () => Promise<string> {
  let found: string | undefined;
  return async () => {
    if (found) return found;
    const response = await fetch(
      new URL('.well-known/openid-configuration', issuerUrl.endsWith('/') ? issuerUrl : `${issuerUrl}/`),
      {
        signal: AbortSignal.timeout(5000),
      },
    );
    if (!response.ok) throw new Error(`OpenID configuration answered ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
    found = jwksUri;
    return found;
  };
}

export function fileKeys(path: string): JWTVerifyGetKey {
  return createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet);
}
