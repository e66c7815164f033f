import { defineField } from '../framework/fields.ts';
import { defineKind, type Resource } from '../framework/kind.ts';

// A subscription of an outside receiver to the service's events (docs/webhooks.md).
export const webhookKind = defineKind({
  name: 'Webhook',
  plural: 'webhooks',
  fields: {
    name: defineField('string', { required: true, description: 'A name for people' }),
    url: defineField('string', {
      required: true,
      description:
        'The http(s) URL deliveries are POSTed to; its host must be allowed by --webhook-allowed-hosts',
    }),
    sources: defineField('string', {
      description: 'Comma list of event sources (e.g. Dinosaurs); null or empty: every source',
    }),
    event_types: defineField('string', {
      description: 'Comma list of Create, Update, Delete; null or empty: every type',
    }),
    search: defineField('string', {
      description:
        "A search over the resource as the change left it, e.g. species like 'T%'; null: every resource",
    }),
    secret: defineField('string', {
      required: true,
      writeOnly: true,
      description: 'The key of the X-Webhook-Signature-256 HMAC; write-only, never returned',
    }),
    enabled: defineField('bool', { required: true, description: 'Deliveries are made only while true' }),
  },
});

export type Webhook = Resource<typeof webhookKind.fields>;
