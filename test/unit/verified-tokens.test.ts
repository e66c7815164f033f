import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../src/auth/verified-tokens.ts';

const skewSeconds = 30;
const now = Date.UTC(2026, 11, 3, 12, 0, 0);
const payload = (expiresInSeconds: number): { sub: string; exp: number } => ({
  sub: 'alice',
  exp: now / 1000 + expiresInSeconds,
});

describe('verified tokens', () => {
  it('trusts a remembered token until a minute has passed', () => {
    const tokens = new VerifiedTokens(skewSeconds);
    const claims = payload(3600);
    tokens.remember('a', claims, now);
    expect(tokens.get('a', now + 59_999)).toBe(claims);
    expect(tokens.get('a', now + 60_000)).toBeUndefined();
    // Once forgotten, it stays forgotten until verified again.
    expect(tokens.get('a', now + 1)).toBeUndefined();
  });

  it('stops trusting a token at its exp plus the clock skew, even within the minute', () => {
    const tokens = new VerifiedTokens(skewSeconds);
    tokens.remember('a', payload(10), now);
    expect(tokens.get('a', now + (10 + skewSeconds) * 1000 - 1)).toBeDefined();
    expect(tokens.get('a', now + (10 + skewSeconds) * 1000)).toBeUndefined();
  });

  it('remembers nothing of a token without exp, or one already past it', () => {
    const tokens = new VerifiedTokens(skewSeconds);
    tokens.remember('no exp', { sub: 'alice' }, now);
    tokens.remember('expired', payload(-skewSeconds), now);
    expect(tokens.get('no exp', now)).toBeUndefined();
    expect(tokens.get('expired', now)).toBeUndefined();
  });

  it('knows only the exact text it verified', () => {
    const tokens = new VerifiedTokens(skewSeconds);
    tokens.remember('header.payload.signature', payload(3600), now);
    expect(tokens.get('header.payload.signaturX', now)).toBeUndefined();
    expect(tokens.get('header.payload.signature ', now)).toBeUndefined();
  });

  it('forgets the oldest token once it holds a thousand', () => {
    const tokens = new VerifiedTokens(skewSeconds);
    for (let n = 0; n <= 1000; n++) tokens.remember(`token ${n}`, payload(3600), now);
    expect(tokens.get('token 0', now)).toBeUndefined();
    expect(tokens.get('token 1', now)).toBeDefined();
    expect(tokens.get('token 1000', now)).toBeDefined();
  });
});
