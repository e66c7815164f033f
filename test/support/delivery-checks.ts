import { expect } from 'vitest';
import type { TestDatabase } from './database.ts';
import type { Receiver } from './receiver.ts';

// Waits until `receiver` has every Dinosaur event of the database (there must be `total`), then checks
// that each arrived once, each resource's in the order written, and that each delivery took one attempt.
export async function expectEachDinosaurChangeDeliveredOnceInOrder(
  database: TestDatabase,
  receiver: Receiver,
  dinosaurIds: readonly string[],
  total: number,
): Promise<void> {
  const events = await database.query<{ id: string; source_id: string }>(
    "select id, source_id from events where source = 'Dinosaurs' order by seq",
  );
  expect(events).toHaveLength(total);
  await receiver.waitUntil(() => receiver.requests.length >= total, 'every change is delivered', 60_000);
  // A little longer: a duplicate, if any, would arrive now.
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const received = receiver.requests.map((request) => String(request.headers['x-webhook-event-id']));
  expect(received).toHaveLength(total);
  expect(new Set(received).size).toBe(total);
  for (const id of dinosaurIds) {
    const sent = events.filter((event) => event.source_id === id).map((event) => event.id);
    expect(received.filter((eventId) => sent.includes(eventId))).toEqual(sent);
  }
  const [counts] = await database.query<{ delivered: number; attempts: number }>(
    "select count(*) filter (where status = 'delivered')::int as delivered, sum(attempts)::int as attempts from webhook_deliveries",
  );
  expect(counts).toEqual({ delivered: total, attempts: total });
}
