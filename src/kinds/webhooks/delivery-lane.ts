import { claimRelease, claimRenewal } from '../../events/lease-sql.ts';
import { LeaseWorkers } from '../../events/lease-workers.ts';
import type { Lane } from './breaker.ts';
import {
  type ClaimedDelivery,
  claimDeliveries,
  type DeliveryAttempt,
  msUntilNextDeliveryDue,
  recordDeliveryAttempts,
} from './delivery-queue.ts';
import { sendDelivery } from './delivery-send.ts';
import type { DispatcherDependencies } from './dispatcher.ts';

/** How a lane sends: when a send steps aside, how many may, and what a retry to come wakes. */
export interface LaneSettings {
  readonly lane: Lane;
  /** Sends of one webhook this lane holds at most (claimed, running or aside). */
  readonly perWebhook: number;
  /** How long a send keeps its worker before it steps aside. */
  readonly slowSendMs: number;
  /** Sends that may be aside at once. */
  readonly setAsideLimit: number;
  /** Told the delay of the soonest retry a record scheduled. */
  readonly retryIn: (ms: number) => void;
}

// One lane of the dispatcher: its own workers, claims and per-webhook counts.
export class DeliveryLane {
  private readonly workers: LeaseWorkers<ClaimedDelivery, DeliveryAttempt>;
  private readonly held = new Map<string, number>(); // deliveries claimed and not yet sent, per webhook

  constructor(deps: DispatcherDependencies, lane: LaneSettings) {
    const { settings } = deps;
    this.workers = new LeaseWorkers(
      {
        claim: async (db, lease, limit) => {
          const claimed = await claimDeliveries(db, lease, limit, {
            lane: lane.lane,
            room: { perWebhook: lane.perWebhook, held: this.held },
            probeIntervalMs: settings.probeIntervalMs,
          });
          for (const delivery of claimed) this.count(delivery.webhookId, 1);
          return claimed;
        },
        record: async (db, lease, attempts) => {
          await recordDeliveryAttempts(db, lease, attempts, settings);
          for (const { error, retryInMs } of attempts) {
            deps.observer.deliveryAttempted(
              error === undefined ? 'delivered' : retryInMs === undefined ? 'failed' : 'retried',
            );
          }
          const retries = attempts.flatMap(({ retryInMs }) => (retryInMs === undefined ? [] : [retryInMs]));
          if (retries.length > 0) lane.retryIn(Math.min(...retries));
        },
        renew: claimRenewal('webhook_deliveries'),
        release: claimRelease('webhook_deliveries'),
        msUntilNextDue: msUntilNextDeliveryDue,
      },
      async (delivery, setAside) => {
        const slow = setTimeout(setAside, lane.slowSendMs);
        try {
          return await sendDelivery(deps, delivery);
        } finally {
          clearTimeout(slow);
          this.count(delivery.webhookId, -1);
        }
      },
      {
        db: deps.db,
        lease: deps.lease,
        concurrency: settings.concurrency,
        batchSize: settings.batchSize,
        logger: deps.logger,
        name: `webhook deliveries (${lane.lane})`,
        setAsideLimit: lane.setAsideLimit,
      },
    );
  }

  start(): void {
    this.workers.start();
  }

  stop(): Promise<void> {
    return this.workers.stop();
  }

  wake(): void {
    this.workers.wake();
  }

  private count(webhookId: string, change: number): void {
    const held = (this.held.get(webhookId) ?? 0) + change;
    if (held > 0) this.held.set(webhookId, held);
    else this.held.delete(webhookId);
  }
}
