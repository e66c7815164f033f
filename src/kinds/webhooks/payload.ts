import { apiBase } from '../../service-name.ts';

export interface PayloadEvent {
  id: string;
  source: string;
  source_id: string;
  event_type: string;
  created_at: Date;
  actor: string | null;
  operation_id: string | null;
}

// The body of every attempt of a delivery (docs/webhooks.md): the event with its audit fields, and the
// resource as the change left it, presented as the API presents it (null for an event without a copy).
export function deliveryPayload(event: PayloadEvent, resource: object | undefined): string {
  return JSON.stringify({
    event: {
      id: event.id,
      kind: 'Event',
      href: `${apiBase}/events/${event.id}`,
      source: event.source,
      source_id: event.source_id,
      event_type: event.event_type,
      created_at: event.created_at.toISOString(),
      actor: event.actor,
      operation_id: event.operation_id,
    },
    resource: resource ?? null,
  });
}
