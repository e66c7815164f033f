import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDinosaurWebhook } from '../support/factories/webhooks.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies whose shape the tests assert
type Json = any;

const apiBase = '/api/rh-trex/v1';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Paths in `down` answer 503; the others 200.
const down = new Set<string>();
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  receiver.react = (request) => (down.has(request.path) ? 503 : 200);
});
afterAll(async () => {
  await receiver?.close();
});

const probeIntervalMs = 3000;
const service = serviceForFile({
  webhookAllowedHosts: '127.0.0.1',
  // A failed delivery's own retry is a minute away: only the breaker's probes try a parked webhook.
  webhookRetryBackoff: '1m',
  webhookParkAfter: '3',
  webhookProbeInterval: `${probeIntervalMs}ms`,
});

const createWebhook = (path: string, tag: string): Promise<Json> =>
  createDinosaurWebhook(service, `${receiver.url}${path}`, tag);

async function createDinosaurs(tag: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const response = await service.api(`${apiBase}/dinosaurs`, {
      method: 'POST',
      body: { species: `${tag} ${index}` },
    });
    expect(response.status, response.text).toBe(201);
    ids.push(response.body.id);
  }
  return ids;
}

async function webhookState(id: string): Promise<Json> {
  return (await service.api(`${apiBase}/webhooks/${id}`)).body;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

// A webhook failing in a row `--webhook-park-after` times (3 here), parked.
async function parkedWebhook(): Promise<{ webhook: Json; path: string; tag: string; dinosaurs: string[] }> {
  const tag = `t${randomBytes(4).toString('hex')}`;
  const path = `/down/${tag}`;
  down.add(path);
  const webhook = await createWebhook(path, tag);
  const dinosaurs = await createDinosaurs(tag, 5);
  await until(async () => (await webhookState(webhook.id)).status === 'parked', 'the webhook is parked');
  return { webhook, path, tag, dinosaurs };
}

// The species of the Creates sent to `path` since `since` (when its receiver came back).
const deliveredSpecies = (path: string, since: number): string[] =>
  receiver.requests
    .filter(
      (request) =>
        request.path === path &&
        request.receivedAt >= since &&
        JSON.parse(request.body).event.event_type === 'Create',
    )
    .map((request) => JSON.parse(request.body).resource.species as string);

describe('the circuit breaker of a webhook', () => {
  it('parks a webhook that keeps failing, shows why on the resource, and tries it once per probe interval', async () => {
    const { webhook, path } = await parkedWebhook();
    const parked = await webhookState(webhook.id);
    expect(parked).toMatchObject({ status: 'parked', last_success_at: null });
    expect(parked.consecutive_failures).toBeGreaterThanOrEqual(3);
    expect(Date.parse(parked.last_failure_at)).toBeGreaterThan(Date.parse(webhook.created_at));
    // Operators find it by search.
    const found = await service.api(
      `${apiBase}/webhooks?search=${encodeURIComponent(`status = 'parked' and id = '${webhook.id}'`)}`,
    );
    expect(found.body.total).toBe(1);

    // Five deliveries wait: over two probe intervals, one attempt per interval (and one that may have
    // been on its way).
    const before = receiver.requests.filter((request) => request.path === path).length;
    await sleep(2 * probeIntervalMs);
    const attempts = receiver.requests.filter((request) => request.path === path).length - before;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(3);
  }, 30_000);

  it('makes a parked webhook active again at the first probe that succeeds, and sends what waited at once', async () => {
    const { webhook, path, tag } = await parkedWebhook();
    const back = Date.now();
    down.delete(path);
    await until(async () => (await webhookState(webhook.id)).status === 'active', 'a probe succeeds', 10_000);
    const state = await webhookState(webhook.id);
    expect(state.consecutive_failures).toBe(0);
    expect(state.last_success_at).not.toBeNull();
    // What waited goes out at once, not at the end of each delivery's minute of backoff.
    const expected = Array.from({ length: 5 }, (_, index) => `${tag} ${index}`);
    await receiver.waitUntil(
      () => new Set(deliveredSpecies(path, back)).size === 5,
      'every waiting delivery is sent',
      3000,
    );
    expect([...new Set(deliveredSpecies(path, back))].sort()).toEqual(expected);
  }, 30_000);

  it('sends a ping to a parked webhook at once, and its success makes the webhook active (the operator re-enables it)', async () => {
    const { webhook, path } = await parkedWebhook();
    down.delete(path);
    const pinged = Date.now();
    const ping = await service.api(`${apiBase}/webhooks/${webhook.id}/ping`, { method: 'POST' });
    expect(ping.status, ping.text).toBe(201);
    await until(async () => (await webhookState(webhook.id)).status === 'active', 'the ping succeeds', 2000);
    // Well inside the probe interval: the ping was not waiting for a probe.
    expect(Date.now() - pinged).toBeLessThan(probeIntervalMs);
    const delivery = await service.api(`${apiBase}/webhooks/${webhook.id}/deliveries/${ping.body.id}`);
    expect(delivery.body).toMatchObject({ status: 'delivered', response_code: 200 });
  }, 30_000);
});
