import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';

declare module 'fastify' {
  interface FastifyRequest {
    // The verified token's claims; undefined when authentication is off.
    claims?: JWTPayload;
  }
}

// Who is calling, as one stable string: the token's username, else its subject; '' without a token.
export function callerOf(request: FastifyRequest): string {
  const claims = request.claims;
  if (!claims) return '';
  for (const name of ['username', 'preferred_username', 'sub']) {
    const value = claims[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}
