import { Counter } from 'prom-client';
import { openDatabase } from '../../db/pool.ts';
import type { BackgroundWork, PluginContext } from '../framework/plugin.ts';
import { pruneDeliveries } from './delivery-queue.ts';
import { DeliveryDispatcher, type DeliveryObserver } from './dispatcher.ts';
import { anyWebhookFor, fanOut } from './fanout.ts';
import { webhookSecretKeys } from './secret-keys.ts';

// Webhook deliveries: every event is fanned out to deliveries (run for every event, before the Kinds'
// own controllers), and a dispatcher with connections of its own sends them through the outbound client.
// Each process's dispatcher, by the context its plugin hooks share, so a delivery made by hand (a ping,
// a redelivery) is sent at once rather than at the next resync.
const dispatchers = new WeakMap<PluginContext, DeliveryDispatcher>();

/** Wakes the dispatcher of the process `context` belongs to, if its background work runs. */
export function wakeDispatcher(context: PluginContext): void {
  dispatchers.get(context)?.wake();
}

export function webhookDeliveries(context: PluginContext): BackgroundWork {
  const { config, database, logger } = context;
  // The claims and records, on connections of their own as the controller manager's, so they never wait
  // behind requests.
  const pool = openDatabase({ ...config.db, url: database.url, maxConnections: 3 }, logger);
  const dispatcher = new DeliveryDispatcher({
    db: pool.db,
    lease: context.lease,
    client: context.outbound,
    observer: deliveryMetrics(context),
    settings: {
      ...config.webhooks,
      batchSize: config.events.batchSize,
      maxBackoffMs: 10 * 60_000,
      resyncIntervalMs: config.events.resyncIntervalMs,
    },
    logger,
    secretKeys: webhookSecretKeys(config),
  });
  dispatchers.set(context, dispatcher);
  // Fanning out is a short transaction on the shared pool: it never waits behind a slow receiver.
  const fanOutEvent = fanOut({
    db: database.db,
    kinds: context.kinds,
    newId: context.newId,
    grants: context.grants,
  });
  // Finished deliveries are deleted after --webhook-delivery-retention, on the controllers' resync
  // interval, by one replica at a time (delivery-queue.ts).
  const { deliveryRetentionMs } = config.webhooks;
  const { resyncIntervalMs } = config.events;
  let pruning: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const pruneOnce = (): void => {
    running ??= pruneDeliveries(pool.db, deliveryRetentionMs, resyncIntervalMs / 2)
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'pruning webhook deliveries failed; the next interval retries'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  return {
    onEvent: async (event) => {
      if ((await fanOutEvent(event)) > 0) dispatcher.wake();
    },
    onEventWhen: anyWebhookFor,
    start: () => {
      dispatcher.start();
      if (deliveryRetentionMs > 0) {
        pruning = setInterval(pruneOnce, resyncIntervalMs);
        pruning.unref();
      }
    },
    stop: async () => {
      clearInterval(pruning);
      await running;
      await dispatcher.stop();
      await pool.close();
    },
  };
}

function deliveryMetrics(context: PluginContext): DeliveryObserver {
  const attempts = new Counter({
    name: 'webhook_delivery_attempts',
    help: 'Webhook delivery attempts by outcome (delivered, retried, failed: given up)',
    labelNames: ['outcome'] as const,
    registers: [context.metrics],
  });
  return { deliveryAttempted: (outcome) => attempts.inc({ outcome }) };
}
