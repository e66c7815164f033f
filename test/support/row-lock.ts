import pg from 'pg';
import { advisoryLockKey } from '../../src/db/advisory-lock.ts';

// A session holding a row's lock, as another writer of the row does mid-transaction: every writer of
// that row (a one-statement patch, a locked patch or delete) waits until it is released.

export interface HeldRowLock {
  // Commits and disconnects; a second call does nothing.
  release(): Promise<void>;
}

export interface RowLockOptions {
  // Take the row's writers' advisory lock first, as the service's writers do (a Kind's lock type is its
  // table's name), so one-statement patches wait for it before they read the row.
  readonly asWriter?: boolean;
  // Change the row to these text values in the held transaction, committed at release.
  readonly set?: Readonly<Record<string, string>>;
}

export async function holdRowLock(
  url: string,
  table: string,
  id: string,
  options: RowLockOptions = {},
): Promise<HeldRowLock> {
  const client = new pg.Client({ connectionString: url, application_name: 'trex-test-row-lock' });
  // A session dropped with its database (a test that failed before releasing) is no test's error.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin');
    if (options.asWriter) {
      await client.query('select pg_advisory_xact_lock($1::int4, $2::int4)', advisoryLockKey(table, id));
    }
    const { rowCount } = await client.query(
      `select 1 from ${pg.escapeIdentifier(table)} where id = $1 for update`,
      [id],
    );
    if (rowCount !== 1) throw new Error(`no ${table} row ${id} to lock`);
    for (const [column, value] of Object.entries(options.set ?? {})) {
      await client.query(
        `update ${pg.escapeIdentifier(table)} set ${pg.escapeIdentifier(column)} = $2 where id = $1`,
        [id, value],
      );
    }
  } catch (error) {
    await client.end();
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query('commit');
      } finally {
        await client.end();
      }
    },
  };
}

type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

// The sessions of `database` waiting for a lock (a row's, an advisory one, a table's) they were not
// granted.
export async function lockWaiters(query: Query, database: string): Promise<number> {
  return (await lockWaitersXids(query, database)).length;
}

// The transaction id of each session of `database` waiting for a lock; null for one that has none yet.
export async function lockWaitersXids(query: Query, database: string): Promise<(string | null)[]> {
  const rows = await query<{ xid: string | null }>(
    `select backend_xid::text as xid from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
    [database],
  );
  return rows.map((row) => row.xid);
}
