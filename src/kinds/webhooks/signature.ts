import { createHmac } from 'node:crypto';

export const signatureHeader = 'x-webhook-signature-256';
export const eventIdHeader = 'x-webhook-event-id';
export const deliveryIdHeader = 'x-webhook-delivery-id';

// `sha256=<hex>`: the HMAC-SHA256 of the exact body bytes, keyed with the webhook's secret.
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
