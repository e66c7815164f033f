import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { receiverForFile } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// What an operator sees of a webhook's deliveries, and what stopping a webhook does to them
// (docs/webhooks.md#the-deliveries).
const receiver = receiverForFile();
const service = serviceForFile({
  webhookAllowedHosts: '127.0.0.1',
  webhookRetryBackoff: '1m', // a failed delivery stays pending, waiting for its retry
});
const apiBase = '/api/rh-trex/v1';

// Each webhook has a receiver path of its own, answered with the status it was made with.
const answers = new Map<string, number>();

async function webhookAnswering(status: number): Promise<{ id: string; tag: string }> {
  const tag = `o${randomBytes(4).toString('hex')}`;
  answers.set(`/${tag}`, status);
  receiver.react = (request) => answers.get(request.path) ?? 200;
  const created = await service.api(`${apiBase}/webhooks`, {
    method: 'POST',
    body: {
      name: tag,
      url: `${receiver.url}/${tag}`,
      sources: 'Dinosaurs',
      search: `species like '${tag}%'`,
      secret: `secret of ${tag}`,
      enabled: true,
    },
  });
  expect(created.status, created.text).toBe(201);
  return { id: created.body.id, tag };
}

async function attemptedDelivery(hook: { id: string; tag: string }): Promise<Record<string, unknown>> {
  const made = await service.api(`${apiBase}/dinosaurs`, {
    method: 'POST',
    body: { species: `${hook.tag} x` },
  });
  expect(made.status).toBe(201);
  let delivery: Record<string, unknown> | undefined;
  await expect
    .poll(async () => {
      const { body } = await service.api(`${apiBase}/webhooks/${hook.id}/deliveries`);
      delivery = body.items.find((item: { source_id: string }) => item.source_id === made.body.id);
      return delivery?.attempts;
    })
    .toBe(1);
  return delivery as Record<string, unknown>;
}

describe('a delivery record says why it failed', () => {
  it('the status code, the start of the answer, when and how long', async () => {
    const delivery = await attemptedDelivery(await webhookAnswering(500));
    expect(delivery).toMatchObject({
      status: 'pending',
      attempts: 1,
      response_code: 500,
      last_error: 'the receiver answered 500',
      response_excerpt: 'answered 500',
      last_attempt_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      last_duration_ms: expect.any(Number),
    });
    expect(Date.now() - Date.parse(String(delivery.last_attempt_at))).toBeLessThan(60_000);
    expect(delivery.next_attempt_at).not.toBeNull();
  });
});

describe('stopping a webhook cancels its pending deliveries', () => {
  it('disabled: its pending deliveries become cancelled, and none is sent', async () => {
    const hook = await webhookAnswering(503);
    const delivery = await attemptedDelivery(hook);
    const disabled = await service.api(`${apiBase}/webhooks/${hook.id}`, {
      method: 'PATCH',
      body: { enabled: false },
    });
    expect(disabled.status).toBe(200);
    await expect
      .poll(
        async () =>
          (await service.api(`${apiBase}/webhooks/${hook.id}/deliveries/${delivery.id}`)).body.status,
      )
      .toBe('cancelled');
    const cancelled = (await service.api(`${apiBase}/webhooks/${hook.id}/deliveries/${delivery.id}`)).body;
    expect(cancelled).toMatchObject({ attempts: 1, next_attempt_at: null });
  });

  it('deleted: its pending deliveries become cancelled', async () => {
    const hook = await webhookAnswering(503);
    const delivery = await attemptedDelivery(hook);
    expect((await service.api(`${apiBase}/webhooks/${hook.id}`, { method: 'DELETE' })).status).toBe(204);
    await expect
      .poll(async () => {
        const [row] = await service.database.query<{ status: string }>(
          'select status from webhook_deliveries where id = $1',
          [delivery.id],
        );
        return row?.status;
      })
      .toBe('cancelled');
  });
});

describe('deliveries made by hand', () => {
  const received = (path: string) => receiver.requests.filter((request) => request.path === path);

  it('a ping: 201 with the new delivery, and the receiver gets a Ping about its webhook', async () => {
    const hook = await webhookAnswering(200);
    const pinged = await service.api(`${apiBase}/webhooks/${hook.id}/ping`, { method: 'POST' });
    expect(pinged.status, pinged.text).toBe(201);
    expect(pinged.headers.get('location')).toBe(pinged.body.href);
    expect(pinged.body).toMatchObject({
      kind: 'WebhookDelivery',
      event_type: 'Ping',
      event_id: null,
      status: 'pending',
    });
    await receiver.waitUntil(() => received(`/${hook.tag}`).length === 1, 'the ping');
    const [request] = received(`/${hook.tag}`);
    expect(JSON.parse(request?.body ?? '')).toMatchObject({
      event: { kind: 'Ping', event_type: 'Ping', source: 'Webhooks', source_id: hook.id },
      resource: { id: hook.id, kind: 'Webhook' },
    });
    expect(request?.headers['webhook-id']).toBe(pinged.body.id);
    expect(request?.headers).not.toHaveProperty('x-webhook-event-id');
  });

  it('a body sent along is still read: not JSON is 415, broken JSON 400, and no delivery is made', async () => {
    const hook = await webhookAnswering(200);
    const ping = `${apiBase}/webhooks/${hook.id}/ping`;
    const notJson = await service.api(ping, {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJson.status).toBe(415);
    const broken = await service.api(ping, {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'rh-trex-17' });
    expect((await service.api(`${apiBase}/webhooks/${hook.id}/deliveries`)).body.total).toBe(0);
  });

  it("a redelivery: the same bytes again as a new delivery; another webhook's delivery is not found", async () => {
    const hook = await webhookAnswering(200);
    const made = await service.api(`${apiBase}/dinosaurs`, {
      method: 'POST',
      body: { species: `${hook.tag} r` },
    });
    await receiver.waitUntil(() => received(`/${hook.tag}`).length === 1, 'the first delivery');
    const [first] = received(`/${hook.tag}`);
    const original = String(first?.headers['webhook-id']);
    const again = await service.api(`${apiBase}/webhooks/${hook.id}/deliveries/${original}/redeliver`, {
      method: 'POST',
    });
    expect(again.status, again.text).toBe(201);
    expect(again.body).toMatchObject({ redelivery_of: original, source_id: made.body.id, status: 'pending' });
    expect(again.body.id).not.toBe(original);
    await receiver.waitUntil(() => received(`/${hook.tag}`).length === 2, 'the redelivery');
    const [, second] = received(`/${hook.tag}`);
    expect(second?.body).toBe(first?.body);
    expect(second?.headers['webhook-id']).toBe(again.body.id);

    const other = await webhookAnswering(200);
    const elsewhere = await service.api(`${apiBase}/webhooks/${other.id}/deliveries/${original}/redeliver`, {
      method: 'POST',
    });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.reason).toBe(`WebhookDelivery with id='${original}' not found`);
  });
});
