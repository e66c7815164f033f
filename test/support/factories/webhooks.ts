import { randomBytes } from 'node:crypto';

// A valid body for creating a Webhook: every field set, the strings unique per call. Its target is a
// port nothing listens on and its filter covers Dinosaurs only, so tests that do not deliver never do.
export function validWebhook(): Record<string, unknown> {
  const unique = randomBytes(6).toString('hex');
  return {
    name: `Webhook ${unique}`,
    url: `http://127.0.0.1:9/hooks/${unique}`,
    sources: 'Dinosaurs',
    event_types: 'Create,Delete',
    search: `species like '${unique}%'`,
    secret: `secret-${unique}`,
    enabled: true,
  };
}
