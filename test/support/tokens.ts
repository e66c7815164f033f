import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface TestKeys {
  readonly jwks: { keys: JWK[] };
  readonly jwksFile: string;
  // A token signed by the test key, valid for an hour unless the claims say otherwise.
  mint(claims?: JWTPayload, header?: { kid?: string }): Promise<string>;
}

// An RS256 key pair made for this test file, its public half written as a JWKS file.
export async function createTestKeys(kid = 'test-key'): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwks = { keys: [jwk] };
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'trex-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  return {
    jwks,
    jwksFile,
    mint: async (claims = {}, header = {}) =>
      await new SignJWT({ username: 'test-user', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? kid })
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? '1h')
        .sign(privateKey),
  };
}
