import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config/config.ts';
import { ConfigError } from '../../config/errors.ts';

// Webhook secrets at rest (docs/webhooks.md#secrets-at-rest): sealed with AES-256-GCM under a key from a
// file, so a dump of the database holds no receiver's secret. The file lists keys, newest first: the
// first seals, all of them open, so a rotation adds a key above the old one, reseals (`trex
// rotate-webhook-key`), then drops the old one.

const prefix = 'sealed:v1:';
const ivBytes = 12; // GCM's standard nonce
const tagBytes = 16;

/** Keys that seal and open webhook secrets. */
export interface SecretKeys {
  /** The id of the key that seals: the first 8 hex digits of its SHA-256. */
  readonly current: string;
  /** The stored form of a secret: sealed with the current key, under a fresh nonce. */
  seal(secret: string): string;
  /**
   * The secret a stored value holds. A value that is not sealed (written before secrets were sealed)
   * is the secret itself. Throws a SecretKeyError when no key of the ring sealed it, or it was altered.
   */
  open(stored: string): string;
  /** Whether a stored value is sealed with the current key (a rotation leaves those alone). */
  sealedWithCurrent(stored: string): boolean;
}

/** A key file that cannot be used, or a sealed value that no key opens. */
export class SecretKeyError extends ConfigError {}

/** Keys from their raw 32 bytes, the sealing one first. */
export function secretKeys(keys: readonly Buffer[]): SecretKeys {
  const [first] = keys;
  if (!first) throw new SecretKeyError('a webhook secret key file needs at least one key');
  const byId = new Map(keys.map((key) => [keyId(key), key]));
  const current = keyId(first);
  return {
    current,
    seal: (secret) => {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', first, iv);
      cipher.setAAD(Buffer.from(current));
      const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${prefix}${current}:${sealed.toString('base64url')}`;
    },
    open: (stored) => {
      if (!stored.startsWith(prefix)) return stored;
      const [id = '', data = ''] = stored.slice(prefix.length).split(':');
      const key = byId.get(id);
      if (!key)
        throw new SecretKeyError(`a webhook secret is sealed with key ${id}, which the key file lacks`);
      const bytes = Buffer.from(data, 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, ivBytes));
        decipher.setAAD(Buffer.from(id));
        decipher.setAuthTag(bytes.subarray(bytes.length - tagBytes));
        return Buffer.concat([
          decipher.update(bytes.subarray(ivBytes, bytes.length - tagBytes)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new SecretKeyError(`a webhook secret sealed with key ${id} does not open: it was altered`);
      }
    },
    sealedWithCurrent: (stored) => stored.startsWith(`${prefix}${current}:`),
  };
}

/**
 * Keys from a file: one per line, each 32 random bytes in base64 (`openssl rand -base64 32`), the
 * sealing one first; blank lines and lines starting with # are skipped.
 */
export function readSecretKeys(file: string): SecretKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SecretKeyError(`--webhook-secret-key-file ${file}: ${(error as Error).message}`);
  }
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const keys = lines.map((line, index) => {
    const key = Buffer.from(line, 'base64');
    if (key.length !== 32 || key.toString('base64') !== line) {
      throw new SecretKeyError(
        `--webhook-secret-key-file ${file}: key ${index + 1} is not 32 bytes in base64 (make one with: openssl rand -base64 32)`,
      );
    }
    return key;
  });
  if (keys.length === 0) throw new SecretKeyError(`--webhook-secret-key-file ${file}: the file holds no key`);
  return secretKeys(keys);
}

/**
 * The keys `--webhook-secret-key-file` names; without it, the development key, made on first use. In
 * production the flag is required: a key made on a pod's disk would be lost with the pod, and every
 * secret with it.
 */
export function webhookSecretKeys(config: Pick<Config, 'environment' | 'webhooks'>): SecretKeys {
  const file = config.webhooks.secretKeyFile;
  if (file !== '') return readSecretKeys(file);
  if (config.environment === 'production') {
    throw new SecretKeyError(
      'production needs --webhook-secret-key-file: a file holding the key that seals webhook secrets (make one with: openssl rand -base64 32)',
    );
  }
  return readSecretKeys(ensureDevelopmentSecretKeyFile());
}

/** Where development and tests keep their key when no file is configured. */
export const developmentSecretKeyFile = '.trex/webhook-secret.key';

/**
 * The development key file, made on first use. Made whole, then linked into place, so processes
 * starting together all end up with the one key the first of them made.
 */
export function ensureDevelopmentSecretKeyFile(file: string = developmentSecretKeyFile): string {
  const made = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(made, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(made, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(made, { force: true });
  }
  return file;
}

function keyId(key: Buffer): string {
  return hash('sha256', key, 'hex').slice(0, 8);
}
