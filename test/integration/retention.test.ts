import { randomBytes } from 'node:crypto';
import KSUID from 'ksuid';
import { describe, expect, it } from 'vitest';
import { createDinosaurWebhook } from '../support/factories/webhooks.ts';
import { receiverForFile } from '../support/receiver.ts';
import { serviceForFile } from '../support/service.ts';
import { openSse } from '../support/sse.ts';

// Retention (docs/events.md#retention): events handled longer ago than --event-retention, and webhook
// deliveries finished longer ago than --webhook-delivery-retention, are deleted in the background; never
// an event still waiting for its handlers, nor a pending delivery, nor an event a delivery still names.
// A watch resumed from a deleted event is 410, never a silent gap.
const receiver = receiverForFile();
const service = serviceForFile({
  eventRetention: '1h',
  webhookDeliveryRetention: '1h',
  eventResyncInterval: '200ms',
  webhookAllowedHosts: '127.0.0.1',
});
const apiBase = '/api/rh-trex/v1';

async function createDinosaur(species: string): Promise<string> {
  const response = await service.api(`${apiBase}/dinosaurs`, { method: 'POST', body: { species } });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

// Writes a dinosaur and waits for its Create event to be handled.
async function handledEvent(species: string): Promise<string> {
  const id = await createDinosaur(species);
  for (let tries = 0; tries < 200; tries++) {
    const [row] = await service.database.query<{ id: string; reconciled_date: Date | null }>(
      "select id, reconciled_date from events where source_id = $1 and event_type = 'Create'",
      [id],
    );
    if (row?.reconciled_date) return row.id;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the Create of ${id} was never handled`);
}

const ageBy = (table: string, column: string, ids: readonly string[]) =>
  service.database.query(
    `update ${table} set ${column} = ${column} - interval '2 hours' where id = any($1)`,
    [ids],
  );

const exists = async (table: string, id: string): Promise<boolean> =>
  (await service.database.query(`select 1 from ${table} where id = $1`, [id])).length > 0;

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('retention', () => {
  it('deletes old handled events, and keeps the waiting ones and the recent ones', async () => {
    const tag = `r${randomBytes(4).toString('hex')}`;
    const old = await handledEvent(`${tag} old`);
    const recent = await handledEvent(`${tag} recent`);
    // Waiting for its handlers (as after a failed attempt), and written two hours ago.
    const waiting = await handledEvent(`${tag} waiting`);
    await service.database.query(
      "update events set reconciled_date = null, next_attempt_at = now() + interval '1 day' where id = $1",
      [waiting],
    );
    // Given up two hours ago: finished, so it goes too.
    const givenUp = await handledEvent(`${tag} given up`);
    await service.database.query(
      'update events set reconciled_date = null, failed_at = now() where id = $1',
      [givenUp],
    );
    await ageBy('events', 'created_at', [old, waiting, givenUp]);

    await until(async () => !(await exists('events', old)), 'the old handled event is deleted');
    await until(async () => !(await exists('events', givenUp)), 'the old given-up event is deleted');
    expect(await exists('events', recent)).toBe(true);
    expect(await exists('events', waiting)).toBe(true);
  });

  it('deletes old finished deliveries, never a pending one, and keeps the events they name until then', async () => {
    const tag = `w${randomBytes(4).toString('hex')}`;
    await createDinosaurWebhook(service, `${receiver.url}/${tag}`, tag);
    const delivered = await handledEvent(`${tag} delivered`);
    const pending = await handledEvent(`${tag} pending`);
    const deliveryOf = async (eventId: string) => {
      await until(
        async () =>
          (
            await service.database.query(
              "select 1 from webhook_deliveries where event_id = $1 and status <> 'pending'",
              [eventId],
            )
          ).length > 0,
        'the delivery is sent',
      );
      const [row] = await service.database.query<{ id: string }>(
        'select id from webhook_deliveries where event_id = $1',
        [eventId],
      );
      return row?.id as string;
    };
    const sent = await deliveryOf(delivered);
    const held = await deliveryOf(pending);
    // One is pending again (a retry far off), and a redelivery names the sent one.
    await service.database.query(
      "update webhook_deliveries set status = 'pending', next_attempt_at = now() + interval '1 day' where id = $1",
      [held],
    );
    await ageBy('events', 'created_at', [delivered, pending]);
    await ageBy('webhook_deliveries', 'updated_at', [sent, held]);

    await until(
      async () => !(await exists('webhook_deliveries', sent)),
      'the old delivered delivery is deleted',
    );
    await until(async () => !(await exists('events', delivered)), 'its event goes after it');
    // The fan-out mark went with its event.
    expect(
      await service.database.query('select 1 from webhook_fanouts where event_id = $1', [delivered]),
    ).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 600)); // a few more passes
    expect(await exists('webhook_deliveries', held)).toBe(true);
    expect(await exists('events', pending)).toBe(true); // a pending delivery still names it
  });

  it('answers 410 with the Error body to a watch resumed from a deleted event, 400 to a made-up id', async () => {
    // An event of three hours ago (older than any kept here), as the service writes them: its KSUID
    // carries the time it was made.
    const old = KSUID.fromParts(Date.now() - 3 * 3600_000, randomBytes(16)).string;
    await service.database.query(
      `insert into events (id, source, source_id, event_type, created_at, reconciled_date, tenant_id)
       values ($1, 'Dinosaurs', $2, 'Create', now() - interval '3 hours', now() - interval '3 hours', '')`,
      [old, await createDinosaur('retained')],
    );
    await until(async () => !(await exists('events', old)), 'the event is deleted');
    const url = `${service.apiUrl}${apiBase}/dinosaurs?watch=true`;
    const authorization = `Bearer ${await service.keys.mint()}`;
    const gone = await openSse(url, { authorization, 'last-event-id': old });
    expect(gone.status).toBe(410);
    expect(JSON.parse(gone.body)).toMatchObject({
      kind: 'Error',
      code: 'rh-trex-28',
      reason: `Last-Event-ID '${old}' is older than the events kept (--event-retention): list dinosaurs again, then watch from now`,
    });
    // An id that was never an event: a KSUID of now, and text that is no KSUID.
    for (const id of [KSUID.randomSync().string, 'not-an-event']) {
      const refused = await openSse(url, { authorization, 'last-event-id': id });
      expect(refused.status, id).toBe(400);
      expect(JSON.parse(refused.body).code).toBe('rh-trex-21');
    }
  });
});
