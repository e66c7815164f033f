import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { ApiError } from '../errors/catalogue.ts';

export const acceptedAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

// Clocks of the identity provider and of this service may differ by this much.
const clockSkewSeconds = 30;

export interface KeySource {
  readonly jwkCertFile: string;
  readonly jwkCertUrl: string;
}

export type VerifyToken = (authorization: string | undefined) => Promise<JWTPayload>;

// Verifies `Authorization: Bearer <jwt>` against the configured JWKS; every failure is 401 code 15
// with a reason that names the cause and never echoes the token.
export function createTokenVerifier(source: KeySource): VerifyToken {
  const keys = source.jwkCertFile
    ? createLocalJWKSet(JSON.parse(readFileSync(source.jwkCertFile, 'utf8')))
    : createRemoteJWKSet(new URL(source.jwkCertUrl));
  return async (authorization) => {
    const token = bearerToken(authorization);
    const payload = await jwtVerify(token, keys, {
      algorithms: acceptedAlgorithms,
      requiredClaims: ['exp'],
      clockTolerance: clockSkewSeconds,
    }).then(
      (result) => result.payload,
      (error: unknown) => {
        throw unauthenticated(reasonFor(error));
      },
    );
    // jose checks `iat` only against a maximum token age; a token issued in the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + clockSkewSeconds) {
      throw unauthenticated('token not yet valid (issued in the future)');
    }
    return payload;
  };
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw unauthenticated('missing Authorization header');
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw unauthenticated('malformed Authorization header: expected "Bearer <token>"');
  return match[1];
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'nbf' || error.claim === 'iat'
      ? 'token not yet valid'
      : `token claim '${error.claim}' is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not accepted';
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))
    return 'signing keys are unavailable';
  return 'malformed token';
}

function unauthenticated(reason: string): ApiError {
  return new ApiError('Unauthenticated', `Account authentication could not be verified: ${reason}`, {
    'WWW-Authenticate': 'Bearer',
  });
}
