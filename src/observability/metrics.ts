import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LockObserver } from '../db/advisory-lock.ts';

// Fine enough for millisecond latencies, wide enough for slow requests.
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// One registry per process (never prom-client's global one), so tests can run several services at once.
export class Metrics implements LockObserver {
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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, path: string, code: number, seconds: number): void {
    const labels = { method, path, code: String(code) };
    this.requestCount.inc(labels);
    this.requestDuration.observe(labels, seconds);
  }

  lockAcquired(lockType: string, waitedSeconds: number): void {
    this.lockCount.inc({ type: lockType });
    this.lockWait.observe({ type: lockType }, waitedSeconds);
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
