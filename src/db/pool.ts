import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from './database.ts';
import { serviceClientClass } from './service-client.ts';
import { parseTimestamptz } from './timestamps.ts';
import { type QuerySpan, tracedDialect } from './traced-dialect.ts';

export interface PoolSettings {
  readonly url: string;
  readonly maxConnections: number;
  readonly acquireTimeoutMs: number;
  // 0: none. Otherwise a statement is cancelled after this long, and the client gives up a little later
  // still, for a server that stopped answering altogether (a frozen host, a partition).
  readonly queryTimeoutMs?: number;
  // 0: none. Otherwise every transaction waits at most this long for a lock (SQLSTATE 55P03).
  readonly lockTimeoutMs?: number;
  readonly debug: boolean;
  // Each statement with parameters prepared once per connection (db/service-client.ts); the default.
  readonly preparedStatements?: boolean;
}

export interface DatabaseHandle {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

// pg's parsers, but for timestamptz's: every row has two or three, and pg's parser is costly.
const typeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === pg.types.builtins.TIMESTAMPTZ && format !== 'binary'
    ? parseTimestamptz
    : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

// With `querySpan` (tracing on), every statement runs in a span; without it, nothing is wrapped.
export function openDatabase(settings: PoolSettings, logger: Logger, querySpan?: QuerySpan): DatabaseHandle {
  const pool = new pg.Pool({
    Client: serviceClientClass({
      prepare: settings.preparedStatements !== false,
      statementTimeoutMs: settings.queryTimeoutMs ?? 0,
      lockTimeoutMs: settings.lockTimeoutMs ?? 0,
    }),
    connectionString: settings.url,
    max: settings.maxConnections,
    // A request waiting longer than this for a connection fails with 503 instead of hanging.
    connectionTimeoutMillis: settings.acquireTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'trex',
    types: { getTypeParser: typeParser },
    // Nothing is set on the session (a transaction pooler shares server connections between clients):
    // the statement timeout is the client's (db/service-client.ts).
    ...(settings.queryTimeoutMs ? { query_timeout: settings.queryTimeoutMs + 1000 } : {}),
  });
  // A connection losing its server (restart, pg_terminate_backend) must not crash the process: the pool
  // reports idle ones, and a checked-out one also emits on itself, where nothing else listens.
  // A connection that fails while the pool closes (its server stopping right after, as the embedded one
  // does) is no failure to report.
  let closing = false;
  pool.on('error', (error) => {
    if (closing) return;
    // pg-pool attaches the client, whose dump (statements, parameters of the connection) is no log's.
    Reflect.deleteProperty(error, 'client');
    logger.warn({ err: error }, 'idle database connection failed');
  });
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (!closing) logger.warn({ err: error }, 'database connection failed');
    });
  });
  const dialect = new PostgresDialect({ pool });
  const db = new Kysely<Database>({
    dialect: querySpan ? tracedDialect(dialect, querySpan) : dialect,
    log: settings.debug
      ? (event) => logger.debug({ sql: event.query.sql, ms: event.queryDurationMillis }, 'sql')
      : undefined,
  });
  return {
    url: settings.url,
    pool,
    db,
    close: () => {
      closing = true;
      return db.destroy();
    },
  };
}
