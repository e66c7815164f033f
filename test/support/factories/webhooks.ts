import { randomBytes } from 'node:crypto';
import type { TestService } from '../service.ts';

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

/**
 * Creates, through the API, a webhook that sends the changes of the dinosaurs whose species starts with
 * `tag` to `url`; `fields` add to or replace the body. Answers the webhook as created (201).
 */
export async function createDinosaurWebhook(
  service: Pick<TestService, 'api'>,
  url: string,
  tag: string,
  fields: Record<string, unknown> = {},
  // biome-ignore lint/suspicious/noExplicitAny: the JSON body whose shape the tests assert
): Promise<any> {
  const response = await service.api('/api/rh-trex/v1/webhooks', {
    method: 'POST',
    body: {
      name: `hook ${tag}`,
      url,
      sources: 'Dinosaurs',
      search: `species like '${tag}%'`,
      secret: 'a secret',
      enabled: true,
      ...fields,
    },
  });
  if (response.status !== 201)
    throw new Error(`creating a webhook answered ${response.status}: ${response.text}`);
  return response.body;
}
