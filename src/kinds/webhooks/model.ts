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
      // The rules: target-url.ts. A documentation address (RFC 5737) as the example, which needs no DNS.
      documented: {
        format: 'uri',
        rules:
          'an absolute http or https URL without credentials, whose host --webhook-allowed-hosts allows and resolves',
        examples: ['https://192.0.2.10/hooks'],
      },
    }),
    sources: defineField('string', {
      description: 'Comma list of event sources (e.g. Dinosaurs); null or empty: every source',
      documented: {
        rules: 'each item the event source of a Kind this service has (its plural, e.g. Webhooks)',
        examples: ['Webhooks'],
      },
    }),
    event_types: defineField('string', {
      description: 'Comma list of Create, Update, Delete; null or empty: every type',
      // filter.ts: items trimmed (JavaScript's trim and \s are the same white space), blank: every type.
      documented: {
        pattern: '^\\s*(?:(?:Create|Update|Delete)\\s*(?:,\\s*(?:Create|Update|Delete)\\s*)*)?$',
        examples: ['Create,Delete'],
      },
    }),
    search: defineField('string', {
      description:
        "A search over the resource as the change left it, e.g. species like 'T%'; null: every resource",
      documented: {
        rules:
          'the search language of lists (docs/search.md), meaning something for a source the webhook takes',
        examples: ["created_at > '2024-01-01'"],
      },
    }),
    secret: defineField('string', {
      required: true,
      writeOnly: true,
      description:
        'The signing secret: a Standard Webhooks secret (whsec_ and base64) or any other text; write-only, never returned',
    }),
    previous_secret: defineField('string', {
      writeOnly: true,
      description:
        'During a secret rollover, the secret receivers still use: deliveries carry a signature with each until it is cleared',
    }),
    enabled: defineField('bool', { required: true, description: 'Deliveries are made only while true' }),
    // Its health, kept by the dispatcher (docs/webhooks.md#a-receiver-that-keeps-failing).
    status: defineField('string', {
      required: true,
      readOnly: true,
      description:
        'active: the last attempt succeeded; failing: the last attempts failed, and its deliveries are sent apart from the healthy ones; parked: it failed too often in a row, so one delivery is tried per --webhook-probe-interval (a ping is sent at once)',
    }),
    consecutive_failures: defineField('int', {
      required: true,
      readOnly: true,
      description: 'Failed attempts since the last success',
    }),
    last_success_at: defineField('time', {
      readOnly: true,
      description: 'When a delivery last succeeded (kept to the minute while the webhook stays active)',
    }),
    last_failure_at: defineField('time', { readOnly: true, description: 'When an attempt last failed' }),
  },
  tenantScoped: true,
});

export type Webhook = Resource<typeof webhookKind.fields>;
