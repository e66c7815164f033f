import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type DatabaseHandle, openDatabase } from '../db/pool.ts';
import { ControllerManager } from '../events/controller-manager.ts';
import { ControllerRegistry } from '../events/controllers.ts';
import { eventKind } from '../events/event-kind.ts';
import { oldestUnreconciledAge } from '../events/event-queue.ts';
import type { Lease } from '../events/lease-workers.ts';
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
  lease: Lease,
  logger: Logger,
  tracer: Tracer | undefined,
): EventsSide {
  const registry = new ControllerRegistry();
  registry.onEvery(webhooks.onEvent);
  for (const { plugin, service } of kinds) {
    if (plugin.controllers) registry.add(plugin.kind.eventSource, plugin.controllers(service, logger));
  }
  // LISTEN needs a session of its own: through a transaction pooler, it goes to the server directly.
  const listener = new Listener(config.listenUrl ?? database.url, 'events', logger);
  // The claims and records, on connections of their own, so they never wait behind requests: at most a
  // claim, a record and a renewal or look-ahead at once. The handlers (a Kind's controllers, the
  // fan-out) use the main pool.
  const claimPool = openDatabase({ ...config.db, url: database.url, maxConnections: 3 }, logger);
  const manager = new ControllerManager({
    db: claimPool.db,
    lease,
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
      await claimPool.close();
    },
    watch,
    eventService: createKindService(eventKind, new KindDao(eventKind), deps, [], undefined, tracer),
  };
}
