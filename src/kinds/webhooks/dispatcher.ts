import type { Logger } from 'pino';
import type { Db } from '../../db/database.ts';
import { claimRelease, claimRenewal } from '../../events/lease-sql.ts';
import { type Lease, LeaseWorkers, retryDelay } from '../../events/lease-workers.ts';
import { type HttpClient, OutboundError } from '../../outbound/http-client.ts';
import {
  type ClaimedDelivery,
  claimDeliveries,
  type DeliveryAttempt,
  msUntilNextDeliveryDue,
  recordDeliveryAttempts,
  responseExcerptChars,
} from './delivery-queue.ts';
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

export interface DispatcherSettings {
  readonly allowedHosts: readonly string[];
  readonly concurrency: number;
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number; // the first retry's delay; each later one doubles, up to maxBackoffMs
  readonly maxBackoffMs: number;
  readonly resyncIntervalMs: number;
}

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

export interface DeliveryObserver {
  deliveryAttempted(outcome: DeliveryOutcome): void;
}

export interface DispatcherDependencies {
  readonly db: Db; // the pool the claims and records use
  readonly lease: Lease;
  readonly client: HttpClient;
  readonly observer: DeliveryObserver;
  readonly settings: DispatcherSettings;
  readonly logger: Logger;
}

// Sends due deliveries with bounded concurrency, in every `trex serve` process, claiming them in batches
// under leases as the controller manager claims events, so replicas never send one twice in the normal
// case. One webhook may hold at most half of this process's workers (at least one): a receiver that
// hangs costs its own deliveries a timeout each and leaves the other half to everyone else, but two hung
// webhooks can hold every worker (docs/webhooks.md says how far this isolates).
export class DeliveryDispatcher {
  private readonly workers: LeaseWorkers<ClaimedDelivery, DeliveryAttempt>;
  private readonly held = new Map<string, number>(); // deliveries claimed and not yet sent, per webhook
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DispatcherDependencies) {
    const perWebhook = Math.max(1, Math.floor(deps.settings.concurrency / 2));
    this.workers = new LeaseWorkers(
      {
        claim: async (db, lease, limit) => {
          const claimed = await claimDeliveries(db, lease, limit, { perWebhook, held: this.held });
          for (const delivery of claimed) this.count(delivery.webhookId, 1);
          return claimed;
        },
        record: (db, lease, attempts) => this.record(db, lease, attempts),
        renew: claimRenewal('webhook_deliveries'),
        release: claimRelease('webhook_deliveries'),
        msUntilNextDue: msUntilNextDeliveryDue,
      },
      async (delivery) => {
        try {
          return await this.send(delivery);
        } finally {
          this.count(delivery.webhookId, -1);
        }
      },
      {
        db: deps.db,
        lease: deps.lease,
        concurrency: deps.settings.concurrency,
        batchSize: deps.settings.batchSize,
        logger: deps.logger,
        name: 'webhook deliveries',
      },
    );
  }

  start(): void {
    this.resyncTimer = setInterval(() => this.wake(), this.deps.settings.resyncIntervalMs);
    this.resyncTimer.unref();
    this.workers.start();
  }

  // Stops claiming and waits for the deliveries in flight (each bounded by the webhook timeout).
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.workers.stop();
  }

  wake(): void {
    this.workers.wake();
  }

  private count(webhookId: string, change: number): void {
    const held = (this.held.get(webhookId) ?? 0) + change;
    if (held > 0) this.held.set(webhookId, held);
    else this.held.delete(webhookId);
  }

  private async send(delivery: ClaimedDelivery): Promise<DeliveryAttempt> {
    const { settings, client } = this.deps;
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
      const secrets = [delivery.secret, ...(delivery.previousSecret ? [delivery.previousSecret] : [])];
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
          [signatureHeader]: signature(delivery.secret, delivery.payload), // deprecated
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
      if (!(error instanceof OutboundError)) throw error;
      failure = { error: error.message, responseCode: undefined };
    }
    const attempts = delivery.attempts + 1;
    const retryInMs =
      attempts < settings.maxAttempts
        ? retryDelay(attempts, settings.retryBackoffMs, settings.maxBackoffMs)
        : undefined;
    this.deps.logger.warn(
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

  private async record(db: Db, lease: Lease, attempts: readonly DeliveryAttempt[]): Promise<void> {
    await recordDeliveryAttempts(db, lease, attempts);
    for (const { error, retryInMs } of attempts) {
      this.deps.observer.deliveryAttempted(
        error === undefined ? 'delivered' : retryInMs === undefined ? 'failed' : 'retried',
      );
    }
  }
}
