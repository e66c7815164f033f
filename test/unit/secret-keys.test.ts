import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureDevelopmentSecretKeyFile,
  readSecretKeys,
  SecretKeyError,
  secretKeys,
} from '../../src/kinds/webhooks/secret-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'trex-secret-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newKey = (): Buffer => randomBytes(32);

describe('webhook secret keys', () => {
  it('seals a secret so the stored form holds none of it, and opens it again', () => {
    const keys = secretKeys([newKey()]);
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const stored = keys.seal(secret);
    expect(stored).toMatch(new RegExp(`^sealed:v1:${keys.current}:[A-Za-z0-9_-]+$`));
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(Buffer.from(secret).toString('base64'));
    expect(keys.open(stored)).toBe(secret);
    // A fresh nonce each time: the same secret never seals to the same text.
    expect(keys.seal(secret)).not.toBe(stored);
    expect(keys.open(keys.seal(''))).toBe('');
    expect(keys.open(keys.seal('ünïcødé 🦖'))).toBe('ünïcødé 🦖');
  });

  it('takes a value that was never sealed as the secret itself (written before sealing)', () => {
    expect(secretKeys([newKey()]).open('an old secret')).toBe('an old secret');
  });

  it('refuses a sealed value that was altered, or sealed with a key it lacks', () => {
    const keys = secretKeys([newKey()]);
    const stored = keys.seal('secret');
    const last = stored.at(-2) === 'A' ? 'B' : 'A';
    const altered = `${stored.slice(0, -2)}${last}${stored.at(-1)}`;
    expect(() => keys.open(altered)).toThrow(SecretKeyError);
    expect(() => keys.open(altered)).toThrow(/was altered/);
    const other = secretKeys([newKey()]);
    expect(() => other.open(stored)).toThrow(`sealed with key ${keys.current}, which the key file lacks`);
  });

  it('rotates: the first key seals, every key opens', () => {
    const [oldKey, newer] = [newKey(), newKey()];
    const before = secretKeys([oldKey]);
    const during = secretKeys([newer, oldKey]);
    const old = before.seal('secret');
    expect(during.open(old)).toBe('secret');
    expect(during.sealedWithCurrent(old)).toBe(false);
    expect(during.sealedWithCurrent(during.seal('secret'))).toBe(true);
    expect(during.current).not.toBe(before.current);
  });

  it('reads a key file: keys in base64, newest first, comments and blank lines skipped', () => {
    const [first, second] = [newKey(), newKey()];
    const file = join(dir, 'keys');
    writeFileSync(file, `# rotated today\n${first.toString('base64')}\n\n${second.toString('base64')}\n`);
    const keys = readSecretKeys(file);
    expect(keys.current).toBe(secretKeys([first]).current);
    expect(keys.open(secretKeys([second]).seal('s'))).toBe('s');
  });

  it('refuses a key file it cannot use, naming the flag and what is wrong', () => {
    const file = join(dir, 'bad');
    writeFileSync(file, 'c2hvcnQ=\n');
    expect(() => readSecretKeys(file)).toThrow(
      `--webhook-secret-key-file ${file}: key 1 is not 32 bytes in base64`,
    );
    writeFileSync(file, '# nothing\n\n');
    expect(() => readSecretKeys(file)).toThrow('the file holds no key');
    expect(() => readSecretKeys(join(dir, 'missing'))).toThrow(/--webhook-secret-key-file .*missing: ENOENT/);
  });

  it('makes the development key once, readable by its owner only; later calls keep it', () => {
    const file = join(dir, 'dev', 'webhook-secret.key');
    ensureDevelopmentSecretKeyFile(file);
    const made = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readSecretKeys(file).current).toMatch(/^[0-9a-f]{8}$/);
    ensureDevelopmentSecretKeyFile(file);
    expect(readFileSync(file, 'utf8')).toBe(made);
  });
});
