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

/**
 * How the key store calls the identity provider: the service's one outbound client (metrics by host and
 * code, the operation id of the request that needed the keys, a timeout), given by the composition root.
 */
export type FetchText = (request: {
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
}) => Promise<{ readonly status: number; readonly text: string }>;

const fetchTimeoutMs = 5000;

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
    private readonly fetchText: FetchText,
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
      const response = await this.fetchText({
        url,
        timeoutMs: fetchTimeoutMs,
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
      this.keys = createLocalJWKSet(JSON.parse(response.text) as JSONWebKeySet);
      this.observer.jwksFetched(true);
    } catch (error) {
      this.observer.jwksFetched(false);
      this.logger.warn({ err: error }, 'fetching the JWKS failed; the keys already known stay in use');
    }
  }
}

// OpenID Connect discovery: the issuer's `jwks_uri`, looked up once and again after a failure.
export function discoveredJwksUrl(issuerUrl: string, fetchText: FetchText): () => Promise<string> {
  let found: string | undefined;
  return async () => {
    if (found) return found;
    const url = new URL(
      '.well-known/openid-configuration',
      issuerUrl.endsWith('/') ? issuerUrl : `${issuerUrl}/`,
    );
    const response = await fetchText({
      url: url.toString(),
      timeoutMs: fetchTimeoutMs,
      headers: { accept: 'application/json' },
    });
    if (response.status !== 200) throw new Error(`OpenID configuration answered ${response.status}`);
    const { jwks_uri: jwksUri } = JSON.parse(response.text) as { jwks_uri?: unknown };
    if (typeof jwksUri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
    found = jwksUri;
    return found;
  };
}

export function fileKeys(path: string): JWTVerifyGetKey {
  return createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet);
}
