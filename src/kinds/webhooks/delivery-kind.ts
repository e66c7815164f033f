import { defineField } from '../framework/fields.ts';
import { defineKind } from '../framework/kind.ts';

// A webhook's deliveries seen through the API (`/webhooks/{id}/deliveries`): read-only, listed and
// searched like any collection.
export const deliveryKind = defineKind({
  name: 'WebhookDelivery',
  plural: 'webhook_deliveries',
  fields: {
    webhook_id: defineField('string', { required: true, description: 'The webhook delivered to' }),
    event_id: defineField('string', {
      description: 'The event delivered (the X-Webhook-Event-Id header); null for a ping',
    }),
    redelivery_of: defineField('string', {
      description: 'The delivery this one sends again (POST .../redeliver); null for any other',
    }),
    source: defineField('string', { required: true, description: 'The Kind that changed' }),
    source_id: defineField('string', { required: true, description: 'The resource that changed' }),
    event_type: defineField('string', { required: true, description: 'Create, Update, Delete, or Ping' }),
    status: defineField('string', {
      required: true,
      description:
        'pending (waiting or retrying), delivered, failed (given up), or cancelled (its webhook was disabled or deleted first)',
    }),
    attempts: defineField('int', { required: true, description: 'Attempts so far' }),
    response_code: defineField('int', { description: "The receiver's last HTTP status, if it answered" }),
    last_error: defineField('string', { description: 'Why the last attempt failed' }),
    next_attempt_at: defineField('time', { description: 'When a failed attempt is retried' }),
    delivered_at: defineField('time', { description: 'When the receiver accepted it (2xx)' }),
    last_attempt_at: defineField('time', { description: 'When the last attempt was sent' }),
    last_duration_ms: defineField('int', {
      description: 'How long the last attempt took, until the answer or the failure, in milliseconds',
    }),
    response_excerpt: defineField('string', {
      description: "The first 1,024 characters of the receiver's last answer, if it answered",
    }),
  },
});
