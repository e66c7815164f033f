import type { JWTPayload } from 'jose';

// The account a verified token stands for (docs/auth.md#the-account): services see it on the request,
// and the request log line names its username, never the token.
export interface Account {
  readonly username: string;
  readonly email: string | undefined;
  readonly name: string | undefined;
  readonly claims: JWTPayload;
}

declare module 'fastify' {
  interface FastifyRequest {
    // Undefined when authentication is off.
    account?: Account;
  }
}

export function accountFrom(claims: JWTPayload): Account {
  const text = (name: string): string | undefined => {
    const value = claims[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    username: text('username') ?? text('preferred_username') ?? text('sub') ?? '',
    email: text('email'),
    name: text('name'),
    claims,
  };
}

// Whether a claim (a string, or a list of strings such as `groups`) has a value that matches the whole
// of `pattern`.
export function claimMatches(claims: JWTPayload, claim: string, pattern: RegExp): boolean {
  const value = claims[claim];
  const values = Array.isArray(value) ? value : [value];
  return values.some(
    (item) =>
      (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') &&
      pattern.test(String(item)),
  );
}

// A pattern from a configuration file, anchored so that it must match the whole value.
export function wholeValuePattern(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}
