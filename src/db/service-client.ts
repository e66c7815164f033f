import pg from 'pg';
import { sendCancelRequest } from './cancel-request.ts';

// How many names are given in the life of the process; statements beyond run unnamed, so searches of
// endless shapes (or many migrations) cannot grow the server's memory on every connection.
const maxNamedStatements = 1_000;

// SQLSTATE 0A000 with this message: a table's columns changed (a migration) under a prepared statement
// that reads them, so the server refuses to run it.
const changedResultType = 'cached plan must not change result type';

// The names given to statements, shared by every connection of the process: each connection prepares a
// statement the first time it runs it, and after that sends only the values. Parsing and planning a
// statement costs PostgreSQL more than running the primary-key read (about 12% more GETs per second).
class StatementNames {
  private readonly names = new Map<string, string>();
  private given = 0;

  nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined || this.given >= maxNamedStatements) return known;
    const name = `trex_${this.given++}`;
    this.names.set(text, name);
    return name;
  }

  // After a migration changed a table, statements are prepared afresh under new names (the old ones stay
  // on their connections, unused, until the pool closes them).
  forgetAll(): void {
    this.names.clear();
  }
}

const statementNames = new StatementNames();

type QueryResult = pg.QueryResult<pg.QueryResultRow>;

export interface ServiceClientOptions {
  // Each statement with parameters (all the SQL Kysely makes) runs as a named prepared statement.
  readonly prepare: boolean;
  // 0: none. Otherwise a statement still running after this long is cancelled (SQLSTATE 57014).
  readonly statementTimeoutMs: number;
  // 0: none. Otherwise each transaction begins with `set local lock_timeout`, so a lock wait inside it
  // fails (SQLSTATE 55P03) after this long.
  readonly lockTimeoutMs?: number;
}

// The pool's client class for these options.
export function serviceClientClass(options: ServiceClientOptions): typeof pg.Client {
  return class extends ServiceClient {
    constructor(config?: string | pg.ClientConfig) {
      super(config, options);
    }
  };
}

// A pg client that sets nothing on the session, so it works the same through a transaction pooler
// (PgBouncer refuses a `statement_timeout` startup parameter, and a SET would stay on a server connection
// other clients then get): the statement timeout is the client's own timer and a cancel request.
//
// With `prepare`, a statement refused because a migration changed its table's columns is prepared again
// and, outside a transaction, run again, so a running replica survives a deploy's migration; in a
// transaction, which that error aborts, it fails as any other error would.
class ServiceClient extends pg.Client {
  // The server's transaction status after the last statement: I idle, T in a transaction, E failed one.
  private transactionStatus = 'I';
  // Statements sent and finished, so a cancel request never reaches a later statement.
  private started = 0;
  private finished = 0;

  constructor(
    config: string | pg.ClientConfig | undefined,
    private readonly options: ServiceClientOptions,
  ) {
    super(config);
    // Attached before pg's own listener (added on connect), so it is current when a query settles.
    this.connection.on('readyForQuery', (message: { status: string }) => {
      this.transactionStatus = message.status;
    });
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; only one shape is changed here
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config !== 'string' || !Array.isArray(values) || callback) {
      return super.query(config, values, callback);
    }
    // The transaction's lock timeout goes with its `begin`, in the same round trip (the simple protocol
    // takes both statements at once); `set local` ends with the transaction, so nothing stays on a
    // connection a pooler hands to others.
    if (this.options.lockTimeoutMs && values.length === 0 && config === 'begin') {
      const begin = `begin; set local lock_timeout = ${Math.round(this.options.lockTimeoutMs)}`;
      // Two statements answer two results: the caller asked for the `begin`'s.
      const results = super.query(begin) as unknown as Promise<QueryResult | QueryResult[]>;
      return this.timed(
        results.then((result) => (Array.isArray(result) ? (result[0] as QueryResult) : result)),
      );
    }
    const run =
      this.options.prepare && values.length > 0
        ? this.prepared(config, values)
        : (super.query(config, values) as Promise<QueryResult>);
    return this.timed(run);
  }

  private async prepared(text: string, values: unknown[]): Promise<QueryResult> {
    try {
      return await super.query({ name: statementNames.nameOf(text), text, values });
    } catch (error) {
      if (!(error instanceof Error && error.message.includes(changedResultType))) throw error;
      statementNames.forgetAll();
      if (this.transactionStatus !== 'I') throw error;
      return await super.query({ name: statementNames.nameOf(text), text, values });
    }
  }

  private async timed(run: Promise<QueryResult>): Promise<QueryResult> {
    const timeoutMs = this.options.statementTimeoutMs;
    if (!timeoutMs) return await run;
    const statement = ++this.started;
    const timer = setTimeout(() => this.cancel(statement), timeoutMs);
    try {
      return await run;
    } finally {
      clearTimeout(timer);
      this.finished = statement;
    }
  }

  private cancel(statement: number): void {
    // pg keeps the server's BackendKeyData on the client without declaring it.
    const { processID, secretKey } = this as unknown as { processID: number; secretKey: number };
    sendCancelRequest(
      { host: this.host, port: this.port, processId: processID, secretKey },
      () => this.finished < statement,
    );
  }
}
