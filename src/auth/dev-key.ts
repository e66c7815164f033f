import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import {
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

// The development key: `trex token` signs with it, and `trex serve --enable-jwt` in the development
// environment trusts it when no other key source is configured. It lives in the working directory,
// next to the embedded database, and is made on first use. Never use it in production.
export const developmentKeyDir = '.trex/dev-key';
const kid = 'trex-development';

export interface DevelopmentKey {
  readonly jwks: JSONWebKeySet;
  sign(claims: JWTPayload, expiresIn: string): Promise<string>;
}

export async function developmentKey(dir: string = developmentKeyDir): Promise<DevelopmentKey> {
  const privateFile = join(dir, 'private.jwk.json');
  const publicFile = join(dir, 'jwks.json');
  if (!existsSync(privateFile)) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    // The parent (.trex/) stays traversable: the embedded PostgreSQL's data lives there too.
    mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(privateFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'RS256' }), {
      mode: 0o600,
    });
    writeFileSync(
      publicFile,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }),
    );
  }
  const privateJwk = JSON.parse(readFileSync(privateFile, 'utf8')) as JWK;
  const privateKey = await importJWK(privateJwk, 'RS256');
  return {
    jwks: JSON.parse(readFileSync(publicFile, 'utf8')) as JSONWebKeySet,
    sign: async (claims, expiresIn) =>
      await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey),
  };
}
