import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import type { ReceivedRequest } from '../support/receiver.ts';
import { receiverForFile } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// Every delivery is signed as Standard Webhooks specifies, and a receiver verifies it with the published
// `standardwebhooks` library exactly as its documentation shows (docs/webhooks.md#verifying-a-delivery).
const receiver = receiverForFile();
const service = serviceForFile({ webhookAllowedHosts: '127.0.0.1', webhookRetryBackoff: '100ms' });
const apiBase = '/api/rh-trex/v1';

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

// A webhook of its own receiver path and dinosaur prefix, so tests never see each other's deliveries.
async function webhook(fields: Record<string, unknown>): Promise<{ id: string; path: string; tag: string }> {
  const tag = `s${randomBytes(4).toString('hex')}`;
  const path = `/${tag}`;
  const created = await service.api(`${apiBase}/webhooks`, {
    method: 'POST',
    body: {
      name: tag,
      url: `${receiver.url}${path}`,
      sources: 'Dinosaurs',
      search: `species like '${tag}%'`,
      enabled: true,
      ...fields,
    },
  });
  expect(created.status, created.text).toBe(201);
  return { id: created.body.id, path, tag };
}

// Writes a dinosaur the webhook wants, and returns the delivery the receiver got for it.
async function delivered(hook: { path: string; tag: string }): Promise<ReceivedRequest> {
  const species = `${hook.tag} ${randomBytes(3).toString('hex')}`;
  const created = await service.api(`${apiBase}/dinosaurs`, { method: 'POST', body: { species } });
  expect(created.status).toBe(201);
  const isIt = (request: ReceivedRequest) =>
    request.path === hook.path && request.body.includes(created.body.id);
  await receiver.waitUntil(() => receiver.requests.some(isIt), `the delivery to ${hook.path}`);
  return receiver.requests.find(isIt) as ReceivedRequest;
}

function headersOf(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
}

describe('Standard Webhooks signatures', () => {
  it('verify with the standardwebhooks library, and name the delivery and the time of sending', async () => {
    const secret = newSecret();
    const hook = await webhook({ secret });
    const request = await delivered(hook);
    const payload = new Webhook(secret).verify(request.body, headersOf(request));
    expect(payload).toMatchObject({ event: { source: 'Dinosaurs', event_type: 'Create' } });
    expect(request.headers['webhook-id']).toBe(request.headers['x-webhook-delivery-id']);
    expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    // Another secret does not verify it.
    expect(() => new Webhook(newSecret()).verify(request.body, headersOf(request))).toThrow();
  });

  it('are refused by the receiver when replayed outside its tolerance (5 minutes)', async () => {
    const secret = newSecret();
    const request = await delivered(await webhook({ secret }));
    const receiverClock = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 6 * 60_000);
    try {
      expect(() => new Webhook(secret).verify(request.body, headersOf(request))).toThrow(/too old/);
    } finally {
      receiverClock.mockRestore();
    }
    expect(() => new Webhook(secret).verify(request.body, headersOf(request))).not.toThrow();
  });

  it('carry both signatures during a secret rollover, and only the new one after', async () => {
    const [old, replacement] = [newSecret(), newSecret()];
    const hook = await webhook({ secret: old });
    const rolling = await service.api(`${apiBase}/webhooks/${hook.id}`, {
      method: 'PATCH',
      body: { secret: replacement, previous_secret: old },
    });
    expect(rolling.status).toBe(200);
    expect(rolling.body).not.toHaveProperty('previous_secret');
    const during = await delivered(hook);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [old, replacement]) new Webhook(secret).verify(during.body, headersOf(during));

    await service.api(`${apiBase}/webhooks/${hook.id}`, { method: 'PATCH', body: { previous_secret: null } });
    const after = await delivered(hook);
    new Webhook(replacement).verify(after.body, headersOf(after));
    expect(() => new Webhook(old).verify(after.body, headersOf(after))).toThrow();
  });

  it('take any other secret as raw bytes, as the library does with { format: "raw" }', async () => {
    const secret = 'a plain secret';
    const request = await delivered(await webhook({ secret }));
    new Webhook(new TextEncoder().encode(secret), { format: 'raw' }).verify(request.body, headersOf(request));
  });

  it('refuse a whsec_ secret that is not base64, in a 400 naming the field', async () => {
    const refused = await service.api(`${apiBase}/webhooks`, {
      method: 'POST',
      body: { name: 'bad', url: `${receiver.url}/bad`, secret: 'whsec_not base64!', enabled: true },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'rh-trex-8' });
    expect(refused.body.reason).toMatch(/^secret starts with whsec_/);
  });
});
