import type { Logger } from 'pino';
import { retryDelay } from '../../events/lease-workers.ts';
import { type HttpClient, OutboundError } from '../../outbound/http-client.ts';
import { type ClaimedDelivery, type DeliveryAttempt, responseExcerptChars } from './delivery-queue.ts';
import { SecretKeyError, type SecretKeys } from './secret-keys.ts';
import {
  deliveryIdHeader,
  eventIdHeader,
  signature,
  signatureHeader,
  standardSignature,
  webhookIdHeader,
  webhookSignatureHeader,
  webhookTimestampHeader,
} from './signature.ts';
import { hostAllowed } from './target-url.ts';

/** What sending one delivery needs. */
export interface SendSettings {
  readonly allowedHosts: readonly string[];
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number; // the first retry's delay; each later one doubles, up to maxBackoffMs
  readonly maxBackoffMs: number;
}

// One attempt at a delivery: signed as it is sent, through the outbound client, and what came of it
// (delivered; failed and retried after a backoff; or given up after the last attempt).
export async function sendDelivery(
  deps: {
    readonly client: HttpClient;
    readonly logger: Logger;
    readonly settings: SendSettings;
    readonly secretKeys: SecretKeys; // the webhook's secrets are stored sealed
  },
  delivery: ClaimedDelivery,
): Promise<DeliveryAttempt> {
  const { settings, client, logger } = deps;
  const startedAt = new Date();
  const timing = (): { startedAt: Date; durationMs: number } => ({
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
  });
  let failure: { error: string; responseCode: number | undefined; responseExcerpt?: string };
  try {
    // The allow-list may have shrunk since the webhook was written.
    if (!hostAllowed(new URL(delivery.url), settings.allowedHosts)) {
      throw new OutboundError(`the host of ${delivery.url} is no longer an allowed webhook host`, false);
    }
    // Signed as it is sent: a receiver refuses a request whose timestamp is too old (a replay).
    const sentAt = Math.floor(Date.now() / 1000);
    const secrets = [delivery.secret, ...(delivery.previousSecret ? [delivery.previousSecret] : [])].map(
      deps.secretKeys.open,
    );
    const response = await client.request({
      method: 'POST',
      url: delivery.url,
      headers: {
        'content-type': 'application/json',
        ...(delivery.eventId ? { [eventIdHeader]: delivery.eventId } : {}),
        [deliveryIdHeader]: delivery.id,
        [webhookIdHeader]: delivery.id,
        [webhookTimestampHeader]: String(sentAt),
        [webhookSignatureHeader]: standardSignature(secrets, delivery.id, sentAt, delivery.payload),
        [signatureHeader]: signature(secrets[0] as string, delivery.payload), // deprecated
      },
      body: delivery.payload,
      timeoutMs: settings.timeoutMs,
      retries: 0, // the delivery's own retries, durable and with backoff, take over
      operationId: delivery.operationId ?? undefined,
    });
    const responseExcerpt = response.text.slice(0, responseExcerptChars);
    if (response.status >= 200 && response.status < 300) {
      return { delivery, responseCode: response.status, responseExcerpt, ...timing() };
    }
    failure = {
      error: `the receiver answered ${response.status}`,
      responseCode: response.status,
      responseExcerpt,
    };
  } catch (error) {
    // A secret no configured key opens fails the attempt as a receiver's error would: retried, so a key
    // file put right lets it through.
    if (!(error instanceof OutboundError || error instanceof SecretKeyError)) throw error;
    failure = { error: error.message, responseCode: undefined };
  }
  const attempts = delivery.attempts + 1;
  const retryInMs =
    attempts < settings.maxAttempts
      ? retryDelay(attempts, settings.retryBackoffMs, settings.maxBackoffMs)
      : undefined;
  logger.warn(
    {
      delivery: delivery.id,
      webhook: delivery.webhookId,
      attempts,
      error: failure.error,
      failed: retryInMs === undefined,
    },
    'webhook delivery failed',
  );
  return { delivery, ...failure, retryInMs, ...timing() };
}
