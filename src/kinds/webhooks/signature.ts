import { createHmac } from 'node:crypto';

// The Standard Webhooks headers (https://www.standardwebhooks.com): receivers verify them with the
// published libraries (`new Webhook(secret).verify(body, headers)`).
export const webhookIdHeader = 'webhook-id';
export const webhookTimestampHeader = 'webhook-timestamp';
export const webhookSignatureHeader = 'webhook-signature';

// Deprecated, kept one release for receivers written before the Standard Webhooks headers.
export const signatureHeader = 'x-webhook-signature-256';
export const eventIdHeader = 'x-webhook-event-id';
export const deliveryIdHeader = 'x-webhook-delivery-id';

const standardSecret = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** Whether a secret is a Standard Webhooks one (`whsec_` and base64), whose key is the decoded bytes. */
export function isStandardSecret(secret: string): boolean {
  return standardSecret.test(secret);
}

// The HMAC key a secret stands for: a Standard Webhooks secret's decoded bytes, any other secret's
// UTF-8 bytes (a receiver then passes `{ format: 'raw' }` to its library).
function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret);
}

/**
 * `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, once per secret
 * (the current one, and during a rollover the previous one too), space-separated.
 */
export function standardSignature(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed, 'utf8').digest('base64')}`)
    .join(' ');
}

// Deprecated: `sha256=<hex>`, the HMAC-SHA256 of the exact body bytes, keyed with the secret's text.
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
