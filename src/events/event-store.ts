import { currentContext } from '../context/request-context.ts';
import type { Tx } from '../db/database.ts';

export type EventType = 'Create' | 'Update' | 'Delete';

export interface NewEvent {
  readonly source: string;
  readonly sourceId: string;
  readonly eventType: EventType;
  // The resource's row as this change left it (for a delete, as it was last), so readers of the event
  // (watch streams) see the state of each change, not only the latest one.
  readonly object?: Record<string, unknown>;
}

// The events table is an outbox: written in the same transaction as the change it describes. The audit
// fields come from the request in progress (see context/request-context.ts).
export async function recordEvent(trx: Tx, id: string, now: Date, event: NewEvent): Promise<string> {
  const { actor, operationId } = currentContext();
  await trx
    .insertInto('events')
    .values({
      id,
      source: event.source,
      source_id: event.sourceId,
      event_type: event.eventType,
      object: event.object === undefined ? null : JSON.stringify(event.object),
      actor,
      operation_id: operationId ?? null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}
