import type { JWTPayload } from 'jose';

// How long a verified token is trusted without checking its signature again: a key removed from the
// JWKS stops being honoured within this time.
const trustedForMs = 60_000;
// Enough for every client of a busy service; past it the oldest entry goes (a token's text is ~1 KB).
const capacity = 1_000;

// Tokens whose signature and claims were verified, by their exact text. Checking a signature costs more
// than the rest of a read put together, and a client sends the same token with every request until it
// expires. A remembered token is trusted until its `exp` (plus the clock skew) or for a minute,
// whichever comes first; nothing about a refused token is remembered.
export class VerifiedTokens {
  private readonly entries = new Map<string, { payload: JWTPayload; trustedUntil: number }>();

  constructor(private readonly clockSkewSeconds: number) {}

  get(token: string, now: number): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (now < entry.trustedUntil) return entry.payload;
    this.entries.delete(token);
    return undefined;
  }

  remember(token: string, payload: JWTPayload, now: number): void {
    const expires =
      typeof payload.exp === 'number'
        ? (payload.exp + this.clockSkewSeconds) * 1000
        : Number.NEGATIVE_INFINITY;
    const trustedUntil = Math.min(expires, now + trustedForMs);
    if (trustedUntil <= now) return;
    if (this.entries.size >= capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, { payload, trustedUntil });
  }
}
