import type { Logger } from 'pino';
import type { Db } from '../../db/database.ts';
import { ClaimWorkers, retryDelay } from '../../events/claim-workers.ts';
import { type HttpClient, OutboundError } from '../../outbound/http-client.ts';
import {
  type ClaimedDelivery,
  type DueDelivery,
  dueDeliveries,
  markDelivered,
  markDeliveryFailed,
  msUntilNextDeliveryRetry,
  releaseDelivery,
  stillDueDelivery,
  tryClaimDelivery,
} from './delivery-queue.ts';
import { deliveryIdHeader, eventIdHeader, signature, signatureHeader } from './signature.ts';
import { hostAllowed } from './target-url.ts';

export interface DispatcherSettings {
  readonly allowedHosts: readonly string[];
  readonly concurrency: number;
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
  readonly db: Db; // its own pool: each worker pins a connection (the claims are session locks)
  readonly client: HttpClient;
  readonly observer: DeliveryObserver;
  readonly settings: DispatcherSettings;
  readonly logger: Logger;
}

// Sends due deliveries with bounded concurrency, in every `trex serve` process, claiming each with a
// non-blocking advisory lock as the controller manager claims events, so replicas never send one twice
// in the normal case. One webhook may hold at most half of this process's workers (at least one): a
// receiver that hangs costs its own deliveries a timeout each and leaves the other half to everyone else,
// but two hung webhooks can hold every worker (docs/webhooks.md says how far this isolates).
export class DeliveryDispatcher {
  private readonly workers: ClaimWorkers<DueDelivery>;
  private readonly inFlight = new Map<string, number>(); // per webhook, in this process
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DispatcherDependencies) {
    this.workers = new ClaimWorkers(
      {
        due: dueDeliveries,
        take: (connection, candidate) => this.tryTake(connection, candidate),
        msUntilNextRetry: msUntilNextDeliveryRetry,
      },
      {
        db: deps.db,
        concurrency: deps.settings.concurrency,
        logger: deps.logger,
        failureMessage: 'sending webhook deliveries failed; the next resync retries',
      },
    );
  }

  private get perWebhook(): number {
    return Math.max(1, Math.floor(this.deps.settings.concurrency / 2));
  }

  start(): void {
    this.resyncTimer = setInterval(() => this.wake(), this.deps.settings.resyncIntervalMs);
    this.resyncTimer.unref();
    this.wake();
  }

  // Stops claiming and waits for the deliveries in flight (each bounded by the webhook timeout).
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.workers.stop();
  }

  wake(): void {
    this.workers.wake();
  }

  // Sends one candidate if its webhook has room in this process and no one else holds or sent it.
  private async tryTake(connection: Db, candidate: DueDelivery): Promise<boolean> {
    const busy = this.inFlight.get(candidate.webhookId) ?? 0;
    if (busy >= this.perWebhook) return false;
    this.inFlight.set(candidate.webhookId, busy + 1);
    try {
      if (!(await tryClaimDelivery(connection, candidate.id))) return false;
      try {
        const delivery = await stillDueDelivery(connection, candidate.id);
        if (!delivery) return false;
        await this.send(connection, delivery);
        return true;
      } finally {
        await releaseDelivery(connection, candidate.id);
      }
    } finally {
      const left = (this.inFlight.get(candidate.webhookId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(candidate.webhookId);
      else this.inFlight.set(candidate.webhookId, left);
    }
  }

  private async send(db: Db, delivery: ClaimedDelivery): Promise<void> {
    const { settings, client, logger } = this.deps;
    let failure: { error: string; responseCode: number | undefined };
    try {
      // The allow-list may have shrunk since the webhook was written.
      if (!hostAllowed(new URL(delivery.url), settings.allowedHosts)) {
        throw new OutboundError(`the host of ${delivery.url} is no longer an allowed webhook host`, false);
      }
      const response = await client.request({
        method: 'POST',
        url: delivery.url,
        headers: {
          'content-type': 'application/json',
          [eventIdHeader]: delivery.eventId,
          [deliveryIdHeader]: delivery.id,
          [signatureHeader]: signature(delivery.secret, delivery.payload),
        },
        body: delivery.payload,
        timeoutMs: settings.timeoutMs,
        retries: 0, // the delivery's own retries, durable and with backoff, take over
        operationId: delivery.operationId ?? undefined,
      });
      if (response.status >= 200 && response.status < 300) {
        await markDelivered(db, delivery.id, response.status);
        this.deps.observer.deliveryAttempted('delivered');
        return;
      }
      failure = { error: `the receiver answered ${response.status}`, responseCode: response.status };
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      failure = { error: error.message, responseCode: undefined };
    }
    const attempts = delivery.attempts + 1;
    const retryInMs =
      attempts < settings.maxAttempts
        ? retryDelay(attempts, settings.retryBackoffMs, settings.maxBackoffMs)
        : undefined;
    await markDeliveryFailed(db, delivery.id, failure, retryInMs);
    const failed = retryInMs === undefined;
    this.deps.observer.deliveryAttempted(failed ? 'failed' : 'retried');
    logger.warn(
      { delivery: delivery.id, webhook: delivery.webhookId, attempts, error: failure.error, failed },
      'webhook delivery failed',
    );
  }
}
