import { defineField } from '../framework/fields.ts';
import { defineKind } from '../framework/kind.ts';

// The events table seen through the API (`GET /events`, `/events/{id}`): read-only, with the list
// semantics of every Kind, searchable on these fields.
export const eventKind = defineKind({
  name: 'Event',
  plural: 'events',
  fields: {
    source: defineField('string', { required: true, description: 'The Kind that changed, e.g. Dinosaurs' }),
    source_id: defineField('string', { required: true, description: 'The id of the resource that changed' }),
    event_type: defineField('string', { required: true, description: 'Create, Update or Delete' }),
    reconciled_date: defineField('time', {
      description: 'When every controller handled it; null until then',
    }),
    attempts: defineField('int', { required: true, description: 'Handler attempts so far' }),
    last_error: defineField('string', { description: 'The last handler failure, if any' }),
    next_attempt_at: defineField('time', { description: 'When a failed event is retried' }),
    failed_at: defineField('time', {
      description: 'When the event was given up after the last allowed attempt',
    }),
    actor: defineField('string', {
      description:
        "Who caused it: the token's username, anonymous when authentication is off, system for the service's own work",
    }),
    operation_id: defineField('string', { description: 'The X-Operation-ID of the request that caused it' }),
  },
});
