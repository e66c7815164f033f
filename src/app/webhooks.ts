import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { openDatabase } from '../db/pool.ts';
import type { EventHandler } from '../events/controllers.ts';
import type { Lease } from '../events/lease-workers.ts';
import type { KindDefinition } from '../kinds/framework/kind.ts';
import { DeliveryDispatcher, type DeliveryObserver } from '../kinds/webhooks/dispatcher.ts';
import { fanOut } from '../kinds/webhooks/fanout.ts';
import type { HttpClient } from '../outbound/http-client.ts';

export interface WebhookDeliveries {
  // For the controller manager: every event becomes deliveries to the webhooks that want it.
  readonly onEvent: EventHandler;
  start(): void;
  stop(): Promise<void>;
}

// Webhook deliveries: the controller manager fans each event out to deliveries, and a dispatcher with
// its own connections sends them through the outbound client.
export function createWebhookDeliveries(
  config: Config,
  database: { readonly url: string; readonly db: Db },
  kinds: readonly KindDefinition[],
  client: HttpClient,
  observer: DeliveryObserver,
  newId: () => string,
  lease: Lease,
  logger: Logger,
): WebhookDeliveries {
  // The claims and records, as the controller manager's (app/events.ts).
  const pool = openDatabase({ ...config.db, url: database.url, maxConnections: 3 }, logger);
  const dispatcher = new DeliveryDispatcher({
    db: pool.db,
    lease,
    client,
    observer,
    settings: {
      ...config.webhooks,
      batchSize: config.events.batchSize,
      maxBackoffMs: 10 * 60_000,
      resyncIntervalMs: config.events.resyncIntervalMs,
    },
    logger,
  });
  // Fanning out is a short transaction on the shared pool: it never waits behind a slow receiver.
  const fanOutEvent = fanOut(database.db, kinds, newId);
  return {
    onEvent: async (event) => {
      if ((await fanOutEvent(event)) > 0) dispatcher.wake();
    },
    start: () => dispatcher.start(),
    stop: async () => {
      await dispatcher.stop();
      await pool.close();
    },
  };
}
