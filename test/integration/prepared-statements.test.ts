import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/pool.ts';
import { createEmptyDatabase, type TestDatabase } from '../support/database.ts';

// The pool prepares every statement with parameters once per connection (db/service-client.ts).
// One connection, so what the tests look at is the connection that ran the statements.
let database: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  database = await createEmptyDatabase();
  handle = openDatabase(
    { url: database.url, maxConnections: 1, acquireTimeoutMs: 5_000, debug: false },
    pino({ level: 'silent' }),
  );
  await sql`create table things (id int primary key, name text)`.execute(handle.db);
  await sql`insert into things values (1, 'one'), (2, 'two')`.execute(handle.db);
});

afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const preparedStatements = async (): Promise<string[]> =>
  (
    await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(handle.db)
  ).rows.map((row) => row.statement);
const thing = async (id: number): Promise<Record<string, unknown> | undefined> =>
  (await sql<Record<string, unknown>>`select * from things where id = ${id}`.execute(handle.db)).rows[0];

describe('prepared statements', () => {
  it('prepares a statement with parameters once and runs it again with other values', async () => {
    expect(await thing(1)).toEqual({ id: 1, name: 'one' });
    expect(await thing(2)).toEqual({ id: 2, name: 'two' });
    const prepared = (await preparedStatements()).filter((text) => text.startsWith('select * from things'));
    expect(prepared).toEqual(['select * from things where id = $1']);
  });

  it('survives a migration that adds a column under a prepared statement, outside a transaction', async () => {
    expect(await thing(1)).toEqual({ id: 1, name: 'one' });
    await sql`alter table things add column legs int default 4`.execute(handle.db);
    expect(await thing(1)).toEqual({ id: 1, name: 'one', legs: 4 });
    expect(await thing(2)).toEqual({ id: 2, name: 'two', legs: 4 });
  });

  it('in a transaction, fails that statement (the transaction is aborted), and the next transaction succeeds', async () => {
    expect(await thing(1)).toMatchObject({ id: 1 });
    await sql`alter table things add column tail text default 'long'`.execute(handle.db);
    const attempt = handle.db.transaction().execute(async (trx) => {
      return (await sql`select * from things where id = ${1}`.execute(trx)).rows[0];
    });
    await expect(attempt).rejects.toThrow(/cached plan must not change result type/);
    const retried = await handle.db.transaction().execute(async (trx) => {
      return (await sql`select * from things where id = ${1}`.execute(trx)).rows[0];
    });
    expect(retried).toEqual({ id: 1, name: 'one', legs: 4, tail: 'long' });
  });

  it('prepares nothing with --db-prepared-statements=false (a pooler in transaction mode)', async () => {
    const unprepared = openDatabase(
      {
        url: database.url,
        maxConnections: 1,
        acquireTimeoutMs: 5_000,
        debug: false,
        preparedStatements: false,
      },
      pino({ level: 'silent' }),
    );
    try {
      const { rows } = await sql`select name from things where id = ${2}`.execute(unprepared.db);
      expect(rows).toEqual([{ name: 'two' }]);
      const prepared = await sql`select name from pg_prepared_statements`.execute(unprepared.db);
      expect(prepared.rows).toEqual([]);
    } finally {
      await unprepared.close();
    }
  });

  it('names at most a thousand distinct statements; the rest run unnamed and still answer', async () => {
    for (let n = 0; n < 1_010; n++) {
      const { rows } = await sql<{ n: number }>`select ${n}::int + ${sql.raw(String(n))} as n`.execute(
        handle.db,
      );
      expect(rows[0]?.n).toBe(2 * n);
    }
    expect((await preparedStatements()).length).toBeLessThanOrEqual(1_000);
  });
});
