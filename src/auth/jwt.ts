import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ApiError } from '../errors/catalogue.ts';
import { VerifiedTokens } from './verified-tokens.ts';

export const acceptedAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export interface VerifierSettings {
  readonly getKey: JWTVerifyGetKey;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly clockSkewSeconds: number;
}

export type VerifyToken = (token: string) => Promise<JWTPayload>;

// Verifies a JWT: an accepted algorithm (never `none`, never HMAC: a public key is no secret), a known
// key, `exp` required, `nbf` and `iat` honoured within the clock skew, `iss` and `aud` when configured.
// Every failure is 401 code 15 with a reason that names the cause and never echoes the token.
// A token that passed is remembered for a while (verified-tokens.ts).
export function createTokenVerifier(settings: VerifierSettings): VerifyToken {
  const verified = new VerifiedTokens(settings.clockSkewSeconds);
  return async (token) => {
    const remembered = verified.get(token, Date.now());
    if (remembered) return remembered;
    const payload = await jwtVerify(token, settings.getKey, {
      algorithms: acceptedAlgorithms,
      requiredClaims: ['exp'],
      clockTolerance: settings.clockSkewSeconds,
      issuer: settings.issuer,
      audience: settings.audience,
    }).then(
      (result) => result.payload,
      (error: unknown) => {
        throw unauthenticated(reasonFor(error));
      },
    );
    // jose checks `iat` only against a maximum token age; a token issued in the future is refused here.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + settings.clockSkewSeconds) {
      throw unauthenticated('token not yet valid (issued in the future)');
    }
    verified.remember(token, payload, Date.now());
    return payload;
  };
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'token not yet valid';
    if (error.claim === 'iss') return 'wrong issuer';
    if (error.claim === 'aud') return 'wrong audience';
    if (error.reason === 'missing') return `token has no '${error.claim}' claim`;
    return `token claim '${error.claim}' is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not accepted';
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))
    return 'signing keys are unavailable';
  return 'malformed token';
}

export function unauthenticated(reason: string): ApiError {
  return new ApiError('Unauthenticated', `Account authentication could not be verified: ${reason}`, {
    'WWW-Authenticate': 'Bearer',
  });
}
