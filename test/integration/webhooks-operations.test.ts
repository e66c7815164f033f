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

async function webhookFailingWith(status: number, body: string): Promise<{ id: string; tag: string }> {
  const tag = `o${randomBytes(4).toString('hex')}`;
  receiver.react = (request) => (request.path === `/${tag}` ? status : 200);
  const created = await service.api(`${apiBase}/webhooks`, {
    method: 'POST',
    body: {
      name: tag,
      url: `${receiver.url}/${tag}`,
      sources: 'Dinosaurs',
      search: `species like '${tag}%'`,
      secret: body,
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
    const delivery = await attemptedDelivery(await webhookFailingWith(500, 'secret-500'));
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
    const hook = await webhookFailingWith(503, 'secret-503');
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
    const hook = await webhookFailingWith(503, 'secret-deleted');
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
