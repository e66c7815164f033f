import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type DatabaseHandle, openDatabase } from '../db/pool.ts';
import { ControllerManager } from '../events/controller-manager.ts';
import { ControllerRegistry } from '../events/controllers.ts';
import { eventKind } from '../events/event-kind.ts';
import { oldestUnreconciledAge } from '../events/event-queue.ts';
import { Listener } from '../events/listener.ts';
import { WatchStreams } from '../events/watch.ts';
import { KindDao } from '../kinds/framework/dao.ts';
import { forgetOldKeys } from '../kinds/framework/idempotency.ts';
import type { KindPlugin } from '../kinds/framework/plugin.ts';
import type { KindService, ServiceDependencies } from '../kinds/framework/service.ts';
import { createKindService } from '../kinds/framework/traced-service.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Tracer } from '../observability/tracing.ts';
import type { WebhookDeliveries } from './webhooks.ts';

export interface EventsSide {
  start(): void;
  // Waits for the handlers in flight, then closes the manager's connections.
  stop(): Promise<void>;
  readonly watch: WatchStreams;
  readonly eventService: KindService; // read-only: the events API
}

// Idempotency keys are kept at least this long (docs/events.md#idempotent-creates).
const idempotencyKeyHours = 24;

// The event-driven half of the process: every Kind's controllers and the webhook fan-out behind one
// manager, the webhook deliveries, the watch streams, and the events API, fed by one LISTEN connection.
export function createEventsSide(
  config: Config,
  database: DatabaseHandle,
  kinds: readonly { plugin: KindPlugin; service: KindService }[],
  deps: ServiceDependencies,
  metrics: Metrics,
  webhooks: WebhookDeliveries,
  logger: Logger,
  tracer: Tracer | undefined,
): EventsSide {
  const registry = new ControllerRegistry();
  registry.onEvery(webhooks.onEvent);
  for (const { plugin, service } of kinds) {
    if (plugin.controllers) registry.add(plugin.kind.eventSource, plugin.controllers(service, logger));
  }
  const listener = new Listener(database.url, 'events', logger);
  // The manager's own connections, one pinned per worker for its claims (session locks), re-reads and
  // marks, so claiming never waits behind requests. The handlers (a Kind's controllers, the fan-out) use
  // the main pool: at most one connection per worker, alongside requests.
  const workerPool = openDatabase(
    { ...config.db, url: database.url, maxConnections: config.events.concurrency },
    logger,
  );
  const manager = new ControllerManager({
    db: workerPool.db,
    listener,
    registry,
    settings: { ...config.events, maxBackoffMs: 10 * 60_000 },
    logger,
    observer: metrics,
    onResync: async () => {
      await forgetOldKeys(database.db, idempotencyKeyHours);
    },
  });
  metrics.watchEventLag(() => oldestUnreconciledAge(database.db));
  const watch = new WatchStreams(
    database.db,
    listener,
    { heartbeatMs: config.events.watchHeartbeatMs, pollMs: 1000 },
    logger,
  );
  return {
    start: () => {
      manager.start();
      webhooks.start();
    },
    stop: async () => {
      await manager.stop();
      await webhooks.stop();
      await workerPool.close();
    },
    watch,
    eventService: createKindService(eventKind, new KindDao(eventKind), deps, [], undefined, tracer),
  };
}
