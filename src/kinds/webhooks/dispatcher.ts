import type { Logger } from 'pino';
import type { Db } from '../../db/database.ts';
import type { Lease } from '../../events/lease-workers.ts';
import type { HttpClient } from '../../outbound/http-client.ts';
import type { BreakerSettings } from './breaker.ts';
import { DeliveryLane } from './delivery-lane.ts';
import type { SendSettings } from './delivery-send.ts';
import type { SecretKeys } from './secret-keys.ts';

export interface DispatcherSettings extends BreakerSettings, SendSettings {
  readonly concurrency: number; // each lane's workers
  readonly batchSize: number;
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
  readonly secretKeys: SecretKeys;
}

// How long a send takes its worker before it steps aside: a receiver slower than this waits on a socket,
// not on a worker the deliveries behind it need.
const slowSendMs = 250;
// Sends a lane lets wait aside at once (each is a socket and a few kilobytes). Beyond them a slow send
// keeps its worker until it ends or times out.
const setAsideLimit = 100;
// The failing lane wakes on new deliveries at most this often: its receivers are in no hurry.
const failingWakeMs = 1000;

// Sends due deliveries in every `trex serve` process but those of the api role, claiming them in batches
// under leases as the controller manager claims events, so replicas never send one twice in the normal
// case. Two lanes, each with workers of its own (breaker.ts): the healthy lane sends to webhooks whose
// last attempt succeeded, the failing lane to the others, so a failing receiver never takes a worker a
// healthy one needs. A send still waiting after slowSendMs steps aside, freeing its worker; one webhook
// holds at most half of the healthy lane's sends (claimed, running or aside) and one of the failing
// lane's. So a receiver that starts to hang costs the healthy lane a quarter of a second per held send,
// once: its failures then move it to the failing lane.
export class DeliveryDispatcher {
  private readonly healthy: DeliveryLane;
  private readonly failing: DeliveryLane;
  private resyncTimer: NodeJS.Timeout | undefined;
  private failingWake: { readonly timer: NodeJS.Timeout; readonly at: number } | undefined;
  private failingWokeAt = 0;

  constructor(private readonly deps: DispatcherDependencies) {
    const lane = { slowSendMs, setAsideLimit, retryIn: (ms: number) => this.wakeFailingIn(ms) };
    const perWebhook = Math.max(1, Math.floor(deps.settings.concurrency / 2));
    this.healthy = new DeliveryLane(deps, { ...lane, lane: 'healthy', perWebhook });
    this.failing = new DeliveryLane(deps, { ...lane, lane: 'failing', perWebhook: 1 });
  }

  start(): void {
    this.resyncTimer = setInterval(() => {
      this.healthy.wake();
      this.failing.wake();
    }, this.deps.settings.resyncIntervalMs);
    this.resyncTimer.unref();
    this.healthy.start();
    this.failing.start();
  }

  // Stops claiming and waits for the deliveries in flight (each bounded by the webhook timeout).
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    clearTimeout(this.failingWake?.timer);
    await Promise.all([this.healthy.stop(), this.failing.stop()]);
  }

  // New deliveries may be due: the healthy lane claims at once, the failing lane within failingWakeMs.
  wake(): void {
    this.healthy.wake();
    this.wakeFailingIn(Math.max(0, this.failingWokeAt + failingWakeMs - Date.now()));
  }

  // The failing lane claims in `ms` (a retry falls due then), or sooner if already asked to.
  private wakeFailingIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.failingWake && this.failingWake.at <= at) return;
    clearTimeout(this.failingWake?.timer);
    const timer = setTimeout(() => {
      this.failingWake = undefined;
      this.failingWokeAt = Date.now();
      this.failing.wake();
    }, ms);
    timer.unref();
    this.failingWake = { timer, at };
  }
}
