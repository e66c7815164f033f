import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/pool.ts';
import { prune } from '../../src/db/prune.ts';
import { createEmptyDatabase, type TestDatabase } from '../support/database.ts';

// The pruning of old rows (db/prune.ts): small batches, one replica at a time, and no lock left behind.
let database: TestDatabase;
let handle: ReturnType<typeof openDatabase>;
beforeAll(async () => {
  database = await createEmptyDatabase();
  handle = openDatabase(
    { url: database.url, maxConnections: 4, acquireTimeoutMs: 5000, debug: false },
    pino({ level: 'silent' }),
  );
  await database.query('create table old_rows (id int primary key)');
  await database.query('create table maintenance_locks (name text primary key)'); // as its migration
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const batches: number[] = [];
const pruning = (name: string, budgetMs = 10_000) => ({
  name,
  batchSize: 40,
  budgetMs,
  batch: (limit: number) => {
    batches.push(limit);
    return sql`delete from old_rows where id in (select id from old_rows order by id limit ${limit}) returning 1`;
  },
});

describe('prune', () => {
  it('deletes in batches until one comes back short', async () => {
    await database.query('insert into old_rows select generate_series(1, 100)');
    batches.length = 0;
    expect(await prune(handle.db, pruning('rows'))).toBe(100);
    expect(batches).toEqual([40, 40, 40]); // 40, 40, then 20: short, so it stops
    expect(await database.query('select 1 from old_rows')).toEqual([]);
  });

  it('deletes nothing while another replica prunes the same work, and other work meanwhile', async () => {
    await database.query('insert into old_rows select generate_series(1, 10)');
    const other = new pg.Client(database.url);
    await other.connect();
    try {
      // Another replica, mid-batch: it holds the work's row for its transaction.
      await other.query('begin');
      await other.query("select 1 from maintenance_locks where name = 'rows' for update");
      expect(await prune(handle.db, pruning('rows'))).toBe(0);
      expect(await database.query('select 1 from old_rows')).toHaveLength(10);
      expect(await prune(handle.db, pruning('other rows'))).toBe(10);
      await other.query('commit');
      // No advisory lock, and no row lock once done.
      expect(await database.query("select 1 from pg_locks where locktype = 'advisory'")).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it('stops when its budget is spent, leaving the rest to the next pass', async () => {
    await database.query('insert into old_rows select generate_series(1, 100)');
    expect(await prune(handle.db, pruning('rows', 0))).toBe(40);
    expect(await database.query('select 1 from old_rows')).toHaveLength(60);
  });
});
