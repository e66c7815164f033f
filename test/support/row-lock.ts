import pg from 'pg';

// A session holding a row's lock, as another writer of the row does mid-transaction: every writer of
// that row (a one-statement patch, a locked patch or delete) waits until it is released.

export interface HeldRowLock {
  // Commits and disconnects; a second call does nothing.
  release(): Promise<void>;
}

export async function holdRowLock(url: string, table: string, id: string): Promise<HeldRowLock> {
  const client = new pg.Client({ connectionString: url, application_name: 'trex-test-row-lock' });
  // A session dropped with its database (a test that failed before releasing) is no test's error.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin');
    const { rowCount } = await client.query(
      `select 1 from ${pg.escapeIdentifier(table)} where id = $1 for update`,
      [id],
    );
    if (rowCount !== 1) throw new Error(`no ${table} row ${id} to lock`);
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

// The sessions of `database` waiting for a lock (a row's, an advisory one, a table's) they were not
// granted.
export async function lockWaiters(
  query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>,
  database: string,
): Promise<number> {
  const [row] = await query<{ count: string }>(
    `select count(*) from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
    [database],
  );
  return Number(row?.count);
}
