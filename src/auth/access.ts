import type { IncomingHttpHeaders } from 'node:http';
import { parseCookie } from 'cookie';
import { createLocalJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Caller } from '../context/request-context.ts';
import { ApiError } from '../errors/catalogue.ts';
import { type AclEntry, loadAcl, loadPolicy, type PolicyRule, type Verb } from './access-files.ts';
import { type Account, accountFrom, claimMatches } from './claims.ts';
import { developmentKey } from './dev-key.ts';
import { createTokenVerifier, unauthenticated } from './jwt.ts';
import {
  discoveredJwksUrl,
  type FetchText,
  fileKeys,
  type KeyStoreObserver,
  RemoteKeyStore,
} from './key-store.ts';

// rh-trex's browser sessions carry the token in this cookie when there is no Authorization header.
const tokenCookie = 'cs_jwt';

export interface AccessControl {
  // The account of a request's token: 401 code 15 without a valid one, 403 code 11 outside the ACL.
  authenticate(headers: IncomingHttpHeaders): Promise<Account>;
  // 403 code 4 unless the policy grants `verb` on `kind` to the account.
  authorize(account: Account, kind: string, verb: Verb): void;
  // Whether the policy grants `verb` on `kind` to a caller with these claims (true with authorization
  // off): for work done later on a caller's behalf, such as a webhook's deliveries.
  grants(claims: JWTPayload | undefined, kind: string, verb: string): boolean;
  // The caller a request's account stands for: what it may do, and its tenant with tenancy on.
  caller(account: Account): Caller;
}

// Authentication, ACL and authorization as configured (docs/auth.md); undefined when JWT is off.
export async function createAccessControl({
  auth,
  observer,
  fetchText,
  logger,
}: {
  readonly auth: Config['auth'];
  readonly observer: KeyStoreObserver;
  readonly fetchText: FetchText; // how the identity provider is called: the outbound client
  readonly logger: Logger;
}): Promise<AccessControl | undefined> {
  if (!auth.enableJwt) return undefined;
  const verify = createTokenVerifier({
    getKey: await keysOf(auth, observer, fetchText, logger),
    issuer: auth.issuer,
    audience: auth.audience,
    clockSkewSeconds: auth.clockSkewSeconds,
  });
  const acl = auth.aclFile ? loadAcl(auth.aclFile) : undefined;
  const policy = auth.enableAuthz && auth.authzPolicyFile ? loadPolicy(auth.authzPolicyFile) : undefined;
  const grants = (claims: JWTPayload | undefined, kind: string, verb: string): boolean =>
    !policy || policyGrants(policy, claims ?? {}, kind, verb);
  return {
    authenticate: async (headers) => {
      const account = accountFrom(await verify(tokenOf(headers)));
      if (acl && !aclAdmits(acl, account)) {
        throw new ApiError(
          'Unauthorized',
          `Account '${account.username}' is not allowed to use this service`,
        );
      }
      return account;
    },
    authorize: (account, kind, verb) => {
      if (policy && !policyGrants(policy, account.claims, kind, verb)) {
        throw new ApiError('Forbidden', `Account '${account.username}' may not ${verb} ${kind}`);
      }
    },
    grants,
    caller: (account) => ({
      claims: account.claims,
      may: (kind, verb) => grants(account.claims, kind, verb),
      ...(auth.tenantClaim
        ? {
            tenancy: {
              tenant: tenantOf(account.claims, auth.tenantClaim),
              allTenants: (policy ?? []).some(
                (rule) =>
                  rule.allTenants &&
                  (rule.claim === undefined || claimMatches(account.claims, rule.claim, rule.pattern)),
              ),
            },
          }
        : {}),
    }),
  };
}

async function keysOf(
  auth: Config['auth'],
  observer: KeyStoreObserver,
  fetchText: FetchText,
  logger: Logger,
): Promise<JWTVerifyGetKey> {
  const source = auth.keySource;
  switch (source.kind) {
    case 'file':
      return fileKeys(source.path);
    case 'url':
      return new RemoteKeyStore(
        async () => source.url,
        auth.jwksRefreshIntervalMs,
        fetchText,
        observer,
        logger,
      ).getKey;
    case 'oidc':
      return new RemoteKeyStore(
        discoveredJwksUrl(source.issuerUrl, fetchText),
        auth.jwksRefreshIntervalMs,
        fetchText,
        observer,
        logger,
      ).getKey;
    case 'development': {
      logger.warn('JWT authentication trusts the development key of `trex token` (development only)');
      return createLocalJWKSet((await developmentKey()).jwks);
    }
    case 'none':
      throw new Error('JWT authentication is on without a key source');
  }
}

// `Authorization: Bearer <jwt>` (the scheme in any case), else the cs_jwt cookie.
function tokenOf(headers: IncomingHttpHeaders): string {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('malformed Authorization header: expected "Bearer <token>"');
    return match[1];
  }
  const cookie = headers.cookie ? parseCookie(headers.cookie)[tokenCookie] : undefined;
  if (cookie) return cookie;
  throw unauthenticated('missing Authorization header');
}

function aclAdmits(acl: readonly AclEntry[], account: Account): boolean {
  return acl.some((entry) => claimMatches(account.claims, entry.claim, entry.pattern));
}

// A tenant is a non-empty string or number claim; anything else names none.
function tenantOf(claims: JWTPayload, claim: string): string | undefined {
  const value = claims[claim];
  return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;
}

function policyGrants(
  policy: readonly PolicyRule[],
  claims: JWTPayload,
  kind: string,
  verb: string,
): boolean {
  return policy.some(
    (rule) =>
      (rule.kinds.includes('*') || rule.kinds.includes(kind)) &&
      (rule.verbs.includes('*') || rule.verbs.includes(verb)) &&
      (rule.claim === undefined || claimMatches(claims, rule.claim, rule.pattern)),
  );
}
