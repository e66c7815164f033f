import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { secretKeys } from '../../src/kinds/webhooks/secret-keys.ts';
import { cleanEnvironment, runTrex } from '../support/cli.ts';
import { createDinosaurWebhook } from '../support/factories/webhooks.ts';
import { fileForFile } from '../support/for-file.ts';
import { type ReceivedRequest, receiverForFile } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// Webhook secrets at rest (docs/webhooks.md#secrets-at-rest): sealed with a key from a file, so the
// database holds none; `trex rotate-webhook-key` reseals them with the file's first key.
const [keyA, keyB] = [randomBytes(32), randomBytes(32)];
const keyFile = fileForFile('webhook-secret-keys', `${keyA.toString('base64')}\n`);
const receiver = receiverForFile();
const service = serviceForFile({
  webhookAllowedHosts: '127.0.0.1',
  webhookRetryBackoff: '100ms',
  webhookSecretKeyFile: keyFile,
});
const apiBase = '/api/rh-trex/v1';

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

async function createWebhook(
  fields: Record<string, unknown>,
): Promise<{ id: string; path: string; tag: string }> {
  const tag = `k${randomBytes(4).toString('hex')}`;
  const created = await createDinosaurWebhook(service, `${receiver.url}/${tag}`, tag, fields);
  return { id: created.id, path: `/${tag}`, tag };
}

async function stored(id: string): Promise<{ secret: string; previous_secret: string | null }> {
  const [row] = await service.database.query<{ secret: string; previous_secret: string | null }>(
    'select secret, previous_secret from webhooks where id = $1',
    [id],
  );
  if (!row) throw new Error(`no webhook ${id}`);
  return row;
}

async function delivered(hook: { path: string; tag: string }): Promise<ReceivedRequest> {
  const created = await service.api(`${apiBase}/dinosaurs`, {
    method: 'POST',
    body: { species: `${hook.tag} ${randomBytes(3).toString('hex')}` },
  });
  expect(created.status).toBe(201);
  const isIt = (request: ReceivedRequest) =>
    request.path === hook.path && request.body.includes(created.body.id);
  await receiver.waitUntil(() => receiver.requests.some(isIt), `the delivery to ${hook.path}`);
  return receiver.requests.find(isIt) as ReceivedRequest;
}

const headersOf = (request: ReceivedRequest): Record<string, string> =>
  Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));

describe('webhook secrets at rest', () => {
  it('stores a secret and a previous secret sealed, and signs with what they hold', async () => {
    const [secret, previous] = [newSecret(), newSecret()];
    const hook = await createWebhook({ secret, previous_secret: previous });
    const row = await stored(hook.id);
    const current = secretKeys([keyA]).current;
    for (const [value, plain] of [
      [row.secret, secret],
      [row.previous_secret, previous],
    ] as const) {
      expect(value).toMatch(new RegExp(`^sealed:v1:${current}:`));
      expect(value).not.toContain(plain);
      expect(value).not.toContain(plain.slice('whsec_'.length));
    }
    // Nothing else holds them: not the events, not the deliveries.
    const leaks = await service.database.query(
      `select 1 from events where object::text like $1 union all
       select 1 from webhook_deliveries where payload like $1`,
      [`%${secret.slice(10, 30)}%`],
    );
    expect(leaks).toEqual([]);
    const request = await delivered(hook);
    expect(() => new Webhook(secret).verify(request.body, headersOf(request))).not.toThrow();
    expect(() => new Webhook(previous).verify(request.body, headersOf(request))).not.toThrow();

    // A PATCH seals the new secret too.
    const rotated = newSecret();
    const patched = await service.api(`${apiBase}/webhooks/${hook.id}`, {
      method: 'PATCH',
      body: { secret: rotated, previous_secret: null },
    });
    expect(patched.status, patched.text).toBe(200);
    expect((await stored(hook.id)).secret).not.toContain(rotated);
    expect(secretKeys([keyA]).open((await stored(hook.id)).secret)).toBe(rotated);
  });

  it('rotates the key: trex rotate-webhook-key reseals every secret, those stored in the clear included', async () => {
    const [sealedSecret, clearSecret] = [newSecret(), newSecret()];
    const sealed = await createWebhook({ secret: sealedSecret });
    const clear = await createWebhook({ secret: newSecret() });
    // As a webhook written before secrets were sealed holds it.
    await service.database.query('update webhooks set secret = $1 where id = $2', [clearSecret, clear.id]);
    // Still sent, signed with it.
    const beforeRotation = await delivered(clear);
    expect(() =>
      new Webhook(clearSecret).verify(beforeRotation.body, headersOf(beforeRotation)),
    ).not.toThrow();

    // Step 1: the new key goes first, the old one stays (the replicas roll out with this file).
    writeFileSync(keyFile, `${keyB.toString('base64')}\n${keyA.toString('base64')}\n`);
    // Step 2: reseal.
    const result = await runTrex(
      ['rotate-webhook-key', `--webhook-secret-key-file=${keyFile}`, `--db-url=${service.database.url}`],
      { cwd: process.cwd(), env: cleanEnvironment({ TREX_ENV: 'production' }), timeoutMs: 30_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    const onlyB = secretKeys([keyB]);
    for (const [id, secret] of [
      [sealed.id, sealedSecret],
      [clear.id, clearSecret],
    ] as const) {
      const row = await stored(id);
      expect(onlyB.sealedWithCurrent(row.secret)).toBe(true);
      // Step 3 drops the old key: what is stored opens with the new one alone.
      expect(onlyB.open(row.secret)).toBe(secret);
    }
    const [{ unsealed }] = (await service.database.query(
      `select count(*)::int as unsealed from webhooks where secret not like 'sealed:v1:${onlyB.current}:%'`,
    )) as [{ unsealed: number }];
    expect(unsealed).toBe(0);

    // Run again, it changes nothing; a key file without the sealing key fails, naming the missing key.
    const again = await runTrex(
      ['rotate-webhook-key', `--webhook-secret-key-file=${keyFile}`, `--db-url=${service.database.url}`],
      { cwd: process.cwd(), env: cleanEnvironment({ TREX_ENV: 'production' }), timeoutMs: 30_000 },
    );
    expect(again.code, again.stderr).toBe(0);
    const wrongFile = fileForFile('wrong-keys', `${randomBytes(32).toString('base64')}\n`);
    const wrong = await runTrex(
      ['rotate-webhook-key', `--webhook-secret-key-file=${wrongFile}`, `--db-url=${service.database.url}`],
      { cwd: process.cwd(), env: cleanEnvironment({ TREX_ENV: 'production' }), timeoutMs: 30_000 },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`sealed with key ${onlyB.current}, which the key file lacks`);
  }, 60_000);

  it('refuses to serve in production without a key file, saying how to make one', async () => {
    const result = await runTrex(['serve', `--db-url=${service.database.url}`, '--enable-jwt=false'], {
      cwd: process.cwd(),
      env: cleanEnvironment({ TREX_ENV: 'production' }),
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('production needs --webhook-secret-key-file');
    expect(result.stderr).toContain('openssl rand -base64 32');
  }, 60_000);
});
