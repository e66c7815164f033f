import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type DatabaseHandle, openDatabase } from '../db/pool.ts';
import { ControllerManager } from '../events/controller-manager.ts';
import { ControllerRegistry } from '../events/controllers.ts';
import { oldestUnreconciledAge } from '../events/event-queue.ts';
import type { Lease } from '../events/lease-workers.ts';
import { Listener } from '../events/listener.ts';
import { pruneEvents } from '../events/retention.ts';
import { forgetOldKeys } from '../kinds/framework/idempotency.ts';
import { WatchStreams } from '../kinds/framework/watch.ts';
import type { Kinds } from './kinds.ts';
import type { Metrics } from './metrics.ts';

export interface EventsSide {
  start(): void;
  // Waits for the handlers and background work in flight, then closes the manager's connections.
  stop(): Promise<void>;
  readonly watch: WatchStreams;
}

export interface EventsSideDependencies {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly kinds: Kinds;
  readonly metrics: Metrics;
  readonly lease: Lease;
  readonly logger: Logger;
}

// Idempotency keys are kept at least this long (docs/events.md#idempotent-creates).
const idempotencyKeyHours = 24;

// The event-driven half of the process: the watch streams, fed by one LISTEN connection, and unless the
// process has the api role, the event handling it also wakes (every Kind's controllers and every
// plugin's every-event handlers, such as the webhook fan-out, behind one manager, and every plugin's
// background work).
export function createEventsSide(deps: EventsSideDependencies): EventsSide {
  const { config, database, metrics, logger } = deps;
  // LISTEN needs a session of its own: through a transaction pooler, it goes to the server directly.
  const listener = new Listener(config.listenUrl ?? database.url, 'events', logger);
  const handling = config.role === 'api' ? undefined : eventHandling(deps, listener);
  metrics.watchEventLag(() => oldestUnreconciledAge(database.db));
  const watch = new WatchStreams(
    database.db,
    listener,
    { heartbeatMs: config.events.watchHeartbeatMs, pollMs: 1000 },
    metrics,
    logger,
  );
  metrics.watchStreams(() => watch.size);
  return {
    // The manager starts and stops the listener it wakes on; without one, the watch streams need it.
    start: () => (handling ? handling.start() : listener.start()),
    stop: () => (handling ? handling.stop() : listener.stop()),
    watch,
  };
}

// The controllers and every plugin's background work behind one manager woken by `listener`.
function eventHandling(
  { config, database, kinds, metrics, lease, logger }: EventsSideDependencies,
  listener: Listener,
): { start(): void; stop(): Promise<void> } {
  const background = kinds.background();
  const registry = new ControllerRegistry();
  for (const work of background) if (work.onEvent) registry.onEvery(work.onEvent, work.onEventWhen);
  for (const { source, controllers } of kinds.controllers()) registry.add(source, controllers);
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
      // Within half a resync interval, so upkeep never runs into the next one.
      const { retentionMs, resyncIntervalMs } = config.events;
      if (retentionMs > 0) await pruneEvents(database.db, retentionMs, resyncIntervalMs / 2);
    },
  });
  return {
    start: () => {
      manager.start();
      for (const work of background) work.start?.();
    },
    stop: async () => {
      await manager.stop();
      for (const work of background) await work.stop?.();
      await claimPool.close();
    },
  };
}
