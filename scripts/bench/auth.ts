// A signing key of the benchmark's own, published as a JWKS file the service trusts, and a token signed
// with it: the service under load verifies a real JWT on every request.
import { writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export async function benchCredentials(
  jwksFile: string,
  claims: Record<string, string> = {},
): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = 'bench';
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }),
  );
  return await new SignJWT({ username: 'bench', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}
