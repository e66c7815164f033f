import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import KSUID from 'ksuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedRequest, type Receiver, startReceiver } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies whose shape the tests assert
type Json = any;

const apiBase = '/api/rh-trex/v1';

// The receiver's hooks come first: it starts before the service and closes after the service stopped.
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const service = serviceForFile({
  webhookAllowedHosts: '127.0.0.1',
  webhookTimeout: '1s',
  webhookRetryBackoff: '100ms',
  webhookMaxAttempts: '5',
  // An event that keeps failing is given up within a second, releasing its resource's later events.
  eventRetryBackoff: '50ms',
  eventMaxAttempts: '4',
});

// Each test's dinosaurs carry their own prefix and each webhook its own receiver path, so tests sharing
// the service never see each other's deliveries.
function newTag(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

async function createWebhook(tag: string, fields: Record<string, unknown> = {}): Promise<Json> {
  const response = await service.api(`${apiBase}/webhooks`, {
    method: 'POST',
    body: {
      name: `hook ${tag}`,
      url: `${receiver.url}/${tag}/${randomBytes(3).toString('hex')}`,
      sources: 'Dinosaurs',
      search: `species like '${tag}%'`,
      secret: `secret of ${tag}`,
      enabled: true,
      ...fields,
    },
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function createDinosaur(species: string, headers?: Record<string, string>): Promise<Json> {
  const response = await service.api(`${apiBase}/dinosaurs`, { method: 'POST', body: { species }, headers });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function patchDinosaur(id: string, species: string): Promise<void> {
  const response = await service.api(`${apiBase}/dinosaurs/${id}`, { method: 'PATCH', body: { species } });
  expect(response.status, response.text).toBe(200);
}

function requestsTo(webhook: Json): ReceivedRequest[] {
  const path = new URL(webhook.url).pathname;
  return receiver.requests.filter((request) => request.path === path);
}

async function deliveriesOf(webhook: Json): Promise<Json[]> {
  const response = await service.api(`${apiBase}/webhooks/${webhook.id}/deliveries?orderBy=created_at`);
  expect(response.status, response.text).toBe(200);
  return response.body.items;
}

async function waitForDeliveries(
  webhook: Json,
  condition: (deliveries: Json[]) => boolean,
  what: string,
): Promise<Json[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const deliveries = await deliveriesOf(webhook);
    if (condition(deliveries)) return deliveries;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what}: ${JSON.stringify(deliveries)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function eventsOf(sourceId: string): Promise<{ id: string; event_type: string }[]> {
  return await service.database.query('select id, event_type from events where source_id = $1 order by seq', [
    sourceId,
  ]);
}

// How a receiver checks a delivery (docs/webhooks.md): the HMAC of the raw body, compared in constant time.
function signatureHolds(secret: string, body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(String(header));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function disable(webhook: Json): Promise<void> {
  const response = await service.api(`${apiBase}/webhooks/${webhook.id}`, {
    method: 'PATCH',
    body: { enabled: false },
  });
  expect(response.status, response.text).toBe(200);
}

describe('webhook deliveries', () => {
  it('POSTs the event and the resource as JSON, signed, with the event id and the operation id', async () => {
    const tag = newTag();
    const webhook = await createWebhook(tag);
    expect(webhook).not.toHaveProperty('secret');
    const dinosaur = await createDinosaur(`${tag} rex`, { 'x-operation-id': `op-${tag}` });
    await receiver.waitUntil(() => requestsTo(webhook).length === 1, 'the delivery arrives');
    const [request] = requestsTo(webhook) as [ReceivedRequest];
    const [event] = await eventsOf(dinosaur.id);

    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-webhook-event-id']).toBe(event?.id);
    expect(request.headers['x-operation-id']).toBe(`op-${tag}`);
    expect(signatureHolds(`secret of ${tag}`, request.body, request.headers['x-webhook-signature-256'])).toBe(
      true,
    );
    expect(signatureHolds('another secret', request.body, request.headers['x-webhook-signature-256'])).toBe(
      false,
    );
    expect(JSON.parse(request.body)).toEqual({
      event: {
        id: event?.id,
        kind: 'Event',
        href: `${apiBase}/events/${event?.id}`,
        source: 'Dinosaurs',
        source_id: dinosaur.id,
        event_type: 'Create',
        created_at: expect.any(String),
        actor: 'test-user',
        operation_id: `op-${tag}`,
      },
      resource: dinosaur,
    });

    const [delivery] = await waitForDeliveries(
      webhook,
      (deliveries) => deliveries[0]?.status === 'delivered',
      'the delivery is recorded as delivered',
    );
    expect(delivery).toEqual({
      id: request.headers['x-webhook-delivery-id'],
      kind: 'WebhookDelivery',
      href: `${apiBase}/webhooks/${webhook.id}/deliveries/${request.headers['x-webhook-delivery-id']}`,
      webhook_id: webhook.id,
      event_id: event?.id,
      redelivery_of: null,
      source: 'Dinosaurs',
      source_id: dinosaur.id,
      event_type: 'Create',
      status: 'delivered',
      attempts: 1,
      response_code: 200,
      last_error: null,
      next_attempt_at: null,
      delivered_at: expect.any(String),
      last_attempt_at: expect.any(String),
      last_duration_ms: expect.any(Number),
      response_excerpt: 'answered 200',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const one = await service.api(delivery.href);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(delivery);
    await disable(webhook);
  });

  it('matches sources, event types and the search over the resource as the change left it', async () => {
    const tag = newTag();
    const updatesOnly = await createWebhook(tag, { event_types: 'Update' });
    const tyrants = await createWebhook(tag, { search: `species like '${tag} T%'`, sources: null });
    const webhooksOnly = await createWebhook(tag, { sources: 'Webhooks', search: null });
    const rex = await createDinosaur(`${tag} Tyrannosaurus`);
    const bronto = await createDinosaur(`${tag} Brontosaurus`);
    await patchDinosaur(bronto.id, `${tag} Tarbosaurus`); // now it matches the search
    await patchDinosaur(rex.id, `${tag} Rex`); // and this one no longer does
    const other = await createWebhook(`${tag}x`);

    const brontoEvents = await eventsOf(bronto.id);
    const rexEvents = await eventsOf(rex.id);
    const eventIds = (deliveries: Json[]) => deliveries.map((delivery) => delivery.event_id).sort();
    const updates = await waitForDeliveries(
      updatesOnly,
      (deliveries) => deliveries.filter((delivery) => delivery.status === 'delivered').length === 2,
      'both updates are delivered',
    );
    expect(eventIds(updates)).toEqual([brontoEvents[1]?.id, rexEvents[1]?.id].sort());
    const matching = await waitForDeliveries(
      tyrants,
      (deliveries) => deliveries.filter((delivery) => delivery.status === 'delivered').length === 2,
      'the two changes matching the search are delivered',
    );
    expect(eventIds(matching)).toEqual([rexEvents[0]?.id, brontoEvents[1]?.id].sort());
    const created = await waitForDeliveries(
      webhooksOnly,
      (deliveries) => deliveries.some((delivery) => delivery.source_id === other.id),
      'the creation of the last webhook is delivered',
    );
    expect(created.map((delivery) => [delivery.source, delivery.event_type])).toEqual([
      ['Webhooks', 'Create'],
    ]);
    const payload = JSON.parse(requestsTo(webhooksOnly)[0]?.body ?? '{}');
    expect(payload.resource).toEqual(other);
    expect(payload.resource).not.toHaveProperty('secret');
    for (const webhook of [updatesOnly, tyrants, webhooksOnly, other]) await disable(webhook);
  });

  it('a search through a relation matches on the related resource', async () => {
    const tag = newTag();
    const webhook = await createWebhook(tag, {
      sources: 'Fossils',
      search: `dinosaur.species like '${tag} wanted%'`,
    });
    const wanted = await createDinosaur(`${tag} wanted`);
    const other = await createDinosaur(`${tag} other`);
    const fossil = async (dinosaur: Json): Promise<Json> => {
      const response = await service.api(`${apiBase}/fossils`, {
        method: 'POST',
        body: { site: `${tag} site`, dinosaur_id: dinosaur.id },
      });
      expect(response.status, response.text).toBe(201);
      return response.body;
    };
    const skipped = await fossil(other);
    const matched = await fossil(wanted);
    const [delivery] = await waitForDeliveries(
      webhook,
      (deliveries) => deliveries[0]?.status === 'delivered',
      'the fossil of the wanted dinosaur is delivered',
    );
    expect(delivery.source_id).toBe(matched.id);
    const bodies = requestsTo(webhook).map((request) => JSON.parse(request.body));
    expect(bodies.map((body) => body.resource)).toEqual([matched]);
    expect(JSON.stringify(bodies)).not.toContain(skipped.id);
    await disable(webhook);
  });

  it('retries a receiver that answers 500, with backoff, until it answers 200', async () => {
    const tag = newTag();
    const webhook = await createWebhook(tag);
    const path = new URL(webhook.url).pathname;
    receiver.react = (request, seen) => (request.path === path && seen < 2 ? 500 : 200);
    try {
      await createDinosaur(`${tag} retried`);
      const [delivery] = await waitForDeliveries(
        webhook,
        (deliveries) => deliveries[0]?.status === 'delivered',
        'the delivery succeeds on its third attempt',
      );
      expect(delivery).toMatchObject({
        status: 'delivered',
        attempts: 3,
        response_code: 200,
        last_error: null,
      });
      const requests = requestsTo(webhook);
      expect(requests).toHaveLength(3);
      // Every attempt is the same delivery: the same bytes, signature and event id.
      for (const request of requests) {
        expect(request.body).toBe(requests[0]?.body);
        expect(request.headers['x-webhook-signature-256']).toBe(
          requests[0]?.headers['x-webhook-signature-256'],
        );
        expect(request.headers['x-webhook-event-id']).toBe(requests[0]?.headers['x-webhook-event-id']);
      }
    } finally {
      receiver.react = () => 200;
      await disable(webhook);
    }
  });

  it('gives a delivery up after the last attempt, with the last answer and error', async () => {
    const tag = newTag();
    const webhook = await createWebhook(tag);
    const path = new URL(webhook.url).pathname;
    receiver.react = (request) => (request.path === path ? 503 : 200);
    try {
      await createDinosaur(`${tag} refused`);
      const [delivery] = await waitForDeliveries(
        webhook,
        (deliveries) => deliveries[0]?.status === 'failed',
        'the delivery is given up',
      );
      expect(delivery).toMatchObject({
        status: 'failed',
        attempts: 5,
        response_code: 503,
        last_error: 'the receiver answered 503',
        next_attempt_at: null,
        delivered_at: null,
      });
      expect(requestsTo(webhook)).toHaveLength(5);
      const failed = await service.api(
        `${apiBase}/webhooks/${webhook.id}/deliveries?${new URLSearchParams({ search: "status = 'failed'" })}`,
      );
      expect(failed.body.total).toBe(1);
    } finally {
      receiver.react = () => 200;
      await disable(webhook);
    }
  });

  it('a receiver that hangs times out and is retried, and holds up no other webhook', async () => {
    const tag = newTag();
    const hung = await createWebhook(tag);
    const healthy = await createWebhook(tag);
    const hungPath = new URL(hung.url).pathname;
    let hanging = true;
    receiver.react = (request) => (request.path === hungPath && hanging ? 'hang' : 200);
    try {
      const dinosaurs = [];
      for (let index = 0; index < 6; index++) dinosaurs.push(await createDinosaur(`${tag} ${index}`));
      await waitForDeliveries(
        healthy,
        (deliveries) =>
          deliveries.length === 6 && deliveries.every((delivery) => delivery.status === 'delivered'),
        'the healthy webhook gets every delivery',
      );
      const timedOut = await waitForDeliveries(
        hung,
        (deliveries) => deliveries.some((delivery) => delivery.attempts >= 1),
        'an attempt to the hanging receiver times out',
      );
      expect(timedOut.find((delivery) => delivery.attempts >= 1)).toMatchObject({
        status: 'pending',
        response_code: null,
        last_error: expect.stringContaining('no answer within 1000 ms'),
      });
      // Event processing goes on meanwhile: every dinosaur's event is reconciled.
      const unreconciled = await service.database.query(
        'select id from events where source_id = any($1) and reconciled_date is null',
        [dinosaurs.map((dinosaur) => dinosaur.id)],
      );
      expect(unreconciled).toEqual([]);
      hanging = false;
      await waitForDeliveries(
        hung,
        (deliveries) =>
          deliveries.length === 6 && deliveries.every((delivery) => delivery.status === 'delivered'),
        'the recovered receiver gets every delivery',
      );
    } finally {
      receiver.react = () => 200;
      await disable(hung);
      await disable(healthy);
    }
  });

  it("delivers each resource's changes in order, even when an earlier one has to be retried", async () => {
    const tag = newTag();
    const webhook = await createWebhook(tag, { search: null });
    const path = new URL(webhook.url).pathname;
    // The Create is refused twice, while the updates are written and wait behind it.
    const isCreate = (request: ReceivedRequest): boolean =>
      request.path === path && JSON.parse(request.body).event.event_type === 'Create';
    receiver.react = (request) =>
      isCreate(request) && receiver.requests.filter(isCreate).length <= 2 ? 500 : 200;
    const dinosaur = await createDinosaur(`${tag} ordered`);
    const createEvent = (await eventsOf(dinosaur.id))[0]?.id;
    try {
      for (let index = 1; index <= 5; index++) await patchDinosaur(dinosaur.id, `${tag} ordered ${index}`);
      const events = await eventsOf(dinosaur.id);
      await waitForDeliveries(
        webhook,
        (deliveries) =>
          deliveries.length === 6 && deliveries.every((delivery) => delivery.status === 'delivered'),
        'all six changes are delivered',
      );
      const accepted = requestsTo(webhook)
        .filter((request, index, all) => all.findLastIndex((other) => other.body === request.body) === index)
        .map((request) => request.headers['x-webhook-event-id']);
      expect(accepted).toEqual(events.map((event) => event.id));
      // Nothing after the Create arrived before the Create was accepted.
      const arrivals = requestsTo(webhook).map((request) => request.headers['x-webhook-event-id']);
      expect(arrivals.slice(0, 3)).toEqual([createEvent, createEvent, createEvent]);
      expect(
        requestsTo(webhook)
          .slice(3)
          .map((request) => JSON.parse(request.body).resource.species),
      ).toEqual([1, 2, 3, 4, 5].map((index) => `${tag} ordered ${index}`));
    } finally {
      receiver.react = () => 200;
      await disable(webhook);
    }
  });

  it("a resource's event that keeps failing holds back its later events until it is given up", async () => {
    // No enabled webhook at all when the first event is handled: it takes the fan-out's shortest path.
    await service.database.query('update webhooks set enabled = false where enabled');
    const sourceId = `gone-${newTag()}`; // no such dinosaur: every handling of its events fails, and retries
    const insertEvent = async (eventType: string): Promise<string> => {
      const id = KSUID.randomSync().string;
      await service.database.query(
        `insert into events (id, source, source_id, event_type, created_at, updated_at)
         values ($1, 'Dinosaurs', $2, $3, now(), now())`,
        [id, sourceId, eventType],
      );
      await service.database.query(`select pg_notify('events', $1)`, [id]);
      return id;
    };
    const first = await insertEvent('Create');
    const stateOf = async (id: string): Promise<{ attempts: number; failed_at: Date | null }> =>
      (await service.database.query('select attempts, failed_at from events where id = $1', [id]))[0] as {
        attempts: number;
        failed_at: Date | null;
      };
    const deadline = Date.now() + 20_000;
    while ((await stateOf(first)).attempts === 0) {
      if (Date.now() > deadline) throw new Error('the first event was never handled');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A webhook created after it gets the resource's next event, once the first is given up: the
    // pipeline hands out a resource's events one at a time, in order.
    const webhook = await createWebhook(newTag(), { search: null });
    const second = await insertEvent('Update');
    expect(await stateOf(second)).toMatchObject({ attempts: 0 });
    const [delivery] = await waitForDeliveries(
      webhook,
      (deliveries) => deliveries[0]?.status === 'delivered',
      'the second event is delivered',
    );
    expect(delivery.event_id).toBe(second);
    const given = await stateOf(first);
    expect(given.attempts).toBe(4);
    expect(given.failed_at).toBeInstanceOf(Date);
    const [handled] = await service.database.query<{ before: boolean }>(
      `select f.failed_at <= s.updated_at as before from events f, events s where f.id = $1 and s.id = $2`,
      [first, second],
    );
    expect(handled?.before).toBe(true);
    await disable(webhook);
  }, 30_000);

  it('a disabled webhook gets nothing, and a deleted one neither', async () => {
    const tag = newTag();
    const disabled = await createWebhook(tag, { enabled: false });
    const deleted = await createWebhook(tag);
    expect((await service.api(`${apiBase}/webhooks/${deleted.id}`, { method: 'DELETE' })).status).toBe(204);
    const witness = await createWebhook(tag);
    await createDinosaur(`${tag} unseen`);
    await waitForDeliveries(
      witness,
      (deliveries) => deliveries[0]?.status === 'delivered',
      'the live webhook gets its delivery',
    );
    expect(await deliveriesOf(disabled)).toEqual([]);
    expect(requestsTo(disabled)).toEqual([]);
    expect(requestsTo(deleted)).toEqual([]);
    await disable(witness);
  });

  it('counts outbound requests by host and code in the metrics', async () => {
    const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    const host = new URL(receiver.url).host;
    expect(text).toMatch(new RegExp(`^api_outbound_request_count\\{host="${host}",code="200"\\} [1-9]`, 'm'));
    expect(text).toMatch(new RegExp(`^api_outbound_request_count\\{host="${host}",code="500"\\} [1-9]`, 'm'));
    expect(text).toMatch(
      new RegExp(`^api_outbound_request_count\\{host="${host}",code="timeout"\\} [1-9]`, 'm'),
    );
    expect(text).toMatch(
      new RegExp(
        `^api_outbound_request_duration_bucket\\{le="\\+Inf",host="${host}",code="200"\\} [1-9]`,
        'm',
      ),
    );
    for (const outcome of ['delivered', 'retried', 'failed']) {
      expect(text).toMatch(new RegExp(`^webhook_delivery_attempts\\{outcome="${outcome}"\\} [1-9]`, 'm'));
    }
  });
});
