import type { Tx } from '../db/database.ts';

export type EventType = 'Create' | 'Update' | 'Delete';

export interface NewEvent {
  readonly source: string;
  readonly sourceId: string;
  readonly eventType: EventType;
}

// The events table is an outbox: written in the same transaction as the change it describes.
export async function recordEvent(trx: Tx, id: string, now: Date, event: NewEvent): Promise<string> {
  await trx
    .insertInto('events')
    .values({
      id,
      source: event.source,
      source_id: event.sourceId,
      event_type: event.eventType,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}
