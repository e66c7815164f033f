import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { KeyStoreObserver } from '../auth/key-store.ts';
import type { LockObserver } from '../db/advisory-lock.ts';
import type { ControllerObserver } from '../events/controller-manager.ts';
import type { EventRecord } from '../events/controllers.ts';
import type { RequestObserver } from '../http/api-server.ts';
import type { WatchObserver } from '../kinds/framework/watch-hub.ts';
import type { OutboundObserver } from '../outbound/http-client.ts';

// Fine enough for millisecond latencies, wide enough for slow requests.
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// The process's metrics: one registry (never prom-client's global one, so tests can run several services
// at once) and the observers the platform modules report to. Plugins register their own metrics on it.
export class Metrics
  implements
    LockObserver,
    ControllerObserver,
    KeyStoreObserver,
    OutboundObserver,
    RequestObserver,
    WatchObserver
{
  readonly registry = new Registry();
  private readonly requestCount = new Counter({
    name: 'api_inbound_request_count',
    help: 'Inbound HTTP requests by method, route template and status code',
    labelNames: ['method', 'path', 'code'] as const,
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: 'api_inbound_request_duration',
    help: 'Inbound HTTP request duration in seconds by method, route template and status code',
    labelNames: ['method', 'path', 'code'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  private readonly outboundCount = new Counter({
    name: 'api_outbound_request_count',
    help: 'Outbound HTTP requests by host and status code (timeout or error when none came)',
    labelNames: ['host', 'code'] as const,
    registers: [this.registry],
  });
  private readonly outboundDuration = new Histogram({
    name: 'api_outbound_request_duration',
    help: 'Outbound HTTP request duration in seconds by host and status code',
    labelNames: ['host', 'code'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  private readonly lockCount = new Counter({
    name: 'advisory_lock_count',
    help: 'Advisory locks acquired, by lock type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private readonly lockWait = new Histogram({
    name: 'advisory_lock_duration',
    help: 'Seconds spent waiting for an advisory lock, by lock type',
    labelNames: ['type'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  private readonly watchReads = new Counter({
    name: 'watch_read_count',
    help: "Statements the watch streams send, by source and reader: shared (a read for every live stream of a Kind), catch-up (a read for one stream behind), searches (the streams' searches over the events read)",
    labelNames: ['source', 'reader'] as const,
    registers: [this.registry],
  });
  private readonly eventsHandled = new Counter({
    name: 'controller_events_handled',
    help: 'Events whose handlers all succeeded, by source and event type',
    labelNames: ['source', 'event_type'] as const,
    registers: [this.registry],
  });
  private readonly eventsRetried = new Counter({
    name: 'controller_events_retried',
    help: 'Failed handler attempts that will be retried, by source and event type',
    labelNames: ['source', 'event_type'] as const,
    registers: [this.registry],
  });
  private readonly eventsFailed = new Counter({
    name: 'controller_events_failed',
    help: 'Events given up after the last allowed attempt, by source and event type',
    labelNames: ['source', 'event_type'] as const,
    registers: [this.registry],
  });

  private readonly jwksFetches = new Counter({
    name: 'auth_jwks_fetch_count',
    help: 'Fetches of the JWKS of the identity provider, by result (ok or failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, path: string, code: number, seconds: number): void {
    const labels = { method, path, code: String(code) };
    this.requestCount.inc(labels);
    this.requestDuration.observe(labels, seconds);
  }

  outboundRequest(host: string, code: string, seconds: number): void {
    this.outboundCount.inc({ host, code });
    this.outboundDuration.observe({ host, code }, seconds);
  }

  lockAcquired(lockType: string, waitedSeconds: number): void {
    this.lockCount.inc({ type: lockType });
    this.lockWait.observe({ type: lockType }, waitedSeconds);
  }

  jwksFetched(ok: boolean): void {
    this.jwksFetches.inc({ result: ok ? 'ok' : 'failed' });
  }

  eventHandled(event: EventRecord): void {
    this.eventsHandled.inc({ source: event.source, event_type: event.eventType });
  }

  eventRetried(event: EventRecord): void {
    this.eventsRetried.inc({ source: event.source, event_type: event.eventType });
  }

  eventFailed(event: EventRecord): void {
    this.eventsFailed.inc({ source: event.source, event_type: event.eventType });
  }

  watchRead(source: string, reader: 'shared' | 'catch-up' | 'searches'): void {
    this.watchReads.inc({ source, reader });
  }

  // The watch streams open now, counted on scrape.
  watchStreams(count: () => number): void {
    new Gauge({
      name: 'watch_streams_open',
      help: 'Watch streams open in this process',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  // The age of the oldest event still waiting for its controllers, read from the database on scrape.
  watchEventLag(readAgeSeconds: () => Promise<number>): void {
    new Gauge({
      name: 'controller_event_lag_seconds',
      help: 'Seconds since the oldest unreconciled event was written (0 when none waits)',
      registers: [this.registry],
      async collect() {
        this.set(await readAgeSeconds().catch(() => Number.NaN));
      },
    });
  }

  watchPool(pool: pg.Pool): void {
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    };
    gauge('db_pool_connections_total', 'Connections open in the database pool', () => pool.totalCount);
    gauge('db_pool_connections_idle', 'Idle connections in the database pool', () => pool.idleCount);
    gauge('db_pool_requests_waiting', 'Queries waiting for a pooled connection', () => pool.waitingCount);
  }
}
