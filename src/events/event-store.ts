import { type Kysely, type OperationNodeSource, sql } from 'kysely';
import { currentContext } from '../context/request-context.ts';
import type { Database } from '../db/database.ts';

export type EventType = 'Create' | 'Update' | 'Delete';

// The event a change of one row records.
export interface ChangeEvent {
  readonly id: string;
  readonly at: Date;
  readonly source: string; // the Kind, as rh-trex names it (Dinosaurs)
  readonly eventType: EventType;
  // Columns the event's copy of the row leaves out: write-only fields never reach the events table.
  readonly hidden: readonly string[];
  // Whether the row belongs to a tenant (its `tenant_id`), which the event then records too.
  readonly tenanted?: boolean;
  // Whether the event is timed by the row's `updated_at` as the change set it, not by `at` (a change
  // that times itself in SQL, after the row's lock).
  readonly timedByRow?: boolean;
}

// The events table is an outbox, and each change and its event are a single statement: they commit
// together without a transaction of their own, in one round trip. The event keeps the row as the change
// left it (for a delete, as it was last), so readers of the event (watch streams, webhooks) see the state
// of each change, not only the latest one. A change that touched no row records no event, and returns
// undefined. The audit fields come from the request in progress (see context/request-context.ts).
export async function changeWithEvent<Row>(
  db: Kysely<Database>,
  change: OperationNodeSource, // an insert or update of one row, `returning *`
  event: ChangeEvent,
): Promise<Row | undefined> {
  const { actor, operationId } = currentContext();
  const at = event.timedByRow ? sql`changed.updated_at` : sql`${event.at}`;
  const { rows } = await sql<Row>`
    with changed as (${change}),
    recorded as (
      insert into events
        (id, source, source_id, event_type, object, actor, operation_id, created_at, updated_at, tenant_id)
      select ${event.id}, ${event.source}, changed.id, ${event.eventType},
        to_jsonb(changed) - ${[...event.hidden]}::text[], ${actor}, ${operationId ?? null}, ${at}, ${at},
        ${event.tenanted ? sql`changed.tenant_id` : sql`null`}
      from changed
    )
    select * from changed`.execute(db);
  return rows[0];
}
