import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';

// Runs one statement as a span. Given by the composition root when tracing is on; db/ knows no tracer.
export type QuerySpan = <T>(
  name: string,
  attributes: Readonly<Record<string, string>>,
  run: () => Promise<T>,
) => Promise<T>;

// A dialect whose every statement (transaction control included) runs in a span: a span per query,
// named after the statement's verb and carrying its text with placeholders (`$1`), never the values,
// which stay bound parameters.
export function tracedDialect(dialect: Dialect, span: QuerySpan): Dialect {
  return {
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature takes any database
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
    createDriver: (): Driver => new TracedDriver(dialect.createDriver(), span),
  };
}

class TracedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly span: QuerySpan,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return traceStatement(this.span, query.sql, () => this.inner.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

// Transaction control is traced here, around the inner driver, which is always handed its own
// connection back (PostgresDriver keeps private state on it).
class TracedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly span: QuerySpan,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new TracedConnection(await this.inner.acquireConnection(), this.span);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return traceStatement(this.span, 'begin', () =>
      this.inner.beginTransaction(unwrap(connection), settings),
    );
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return traceStatement(this.span, 'commit', () => this.inner.commitTransaction(unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return traceStatement(this.span, 'rollback', () => this.inner.rollbackTransaction(unwrap(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TracedConnection ? connection.inner : connection;
}

function traceStatement<T>(span: QuerySpan, sql: string, run: () => Promise<T>): Promise<T> {
  const verb = (/^\s*(\w+)/.exec(sql)?.[1] ?? 'sql').toUpperCase();
  return span(verb, { 'db.system.name': 'postgresql', 'db.operation.name': verb, 'db.query.text': sql }, run);
}
