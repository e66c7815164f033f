import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDinosaurWebhook } from '../support/factories/webhooks.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies whose shape the tests assert
type Json = any;

const apiBase = '/api/rh-trex/v1';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// One receiver: paths under /hung never answer, /healthy answers at once.
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  receiver.react = (request) => (request.path.startsWith('/hung') ? 'hang' : 200);
});
afterAll(async () => {
  await receiver?.close();
});

// The default webhook settings (four workers a lane, a 10 s timeout, ten attempts): only the hosts
// webhooks may target are set.
const service = serviceForFile({ webhookAllowedHosts: '127.0.0.1' });

const createWebhook = (path: string, tag: string): Promise<Json> =>
  createDinosaurWebhook(service, `${receiver.url}${path}`, tag, { name: `hook ${path}` });

describe('webhook isolation', () => {
  it('ten hung receivers delay no delivery to a healthy one: each arrives within 2 s of its event', async () => {
    const tag = `t${randomBytes(4).toString('hex')}`;
    const hung = await Promise.all(
      Array.from({ length: 10 }, (_, index) => createWebhook(`/hung/${tag}/${index}`, tag)),
    );
    const healthy = await createWebhook(`/healthy/${tag}`, tag);
    // Two changes a second for 14 s: past the 10 s timeout of the first hung sends, so the run covers
    // receivers starting to hang, timing out, and being retried.
    const made = new Map<string, number>(); // dinosaur id → when its Create was committed
    for (let index = 0; index < 28; index++) {
      const response = await service.api(`${apiBase}/dinosaurs`, {
        method: 'POST',
        body: { species: `${tag} ${index}` },
      });
      expect(response.status, response.text).toBe(201);
      made.set(response.body.id, Date.parse(response.body.created_at));
      await sleep(500);
    }
    const toHealthy = () => receiver.requests.filter((request) => request.path === `/healthy/${tag}`);
    await receiver.waitUntil(() => toHealthy().length >= made.size, 'every change reached the healthy one');

    const lags = toHealthy().map((request) => {
      const id = JSON.parse(request.body).event.source_id as string;
      return request.receivedAt - (made.get(id) ?? Number.NaN);
    });
    expect(lags).toHaveLength(made.size);
    expect(Math.max(...lags), `lags in ms: ${lags.join(', ')}`).toBeLessThanOrEqual(2000);
    // The hung ones were tried, and those whose first send timed out are failing now.
    for (const webhook of hung) {
      expect(receiver.requests.some((request) => request.path === new URL(webhook.url).pathname)).toBe(true);
    }
    const states = await service.api(
      `${apiBase}/webhooks?search=${encodeURIComponent(`name like 'hook /hung/${tag}%'`)}`,
    );
    expect(states.body.items.some((webhook: Json) => webhook.status === 'failing')).toBe(true);
    expect((await service.api(`${apiBase}/webhooks/${healthy.id}`)).body).toMatchObject({
      status: 'active',
      consecutive_failures: 0,
      last_failure_at: null,
    });
    receiver.dropHanging(); // so the service stops without waiting out their timeouts
  }, 60_000);
});
