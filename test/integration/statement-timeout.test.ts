import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/pool.ts';
import { createEmptyDatabase, type TestDatabase } from '../support/database.ts';

// The statement timeout is the client's own (db/service-client.ts): nothing is set on the session, which
// a transaction pooler would refuse or hand on to other clients.
let database: TestDatabase;
let handle: DatabaseHandle;
const timeoutMs = 400;

beforeAll(async () => {
  database = await createEmptyDatabase();
  handle = openDatabase(
    {
      url: database.url,
      maxConnections: 1,
      acquireTimeoutMs: 5_000,
      queryTimeoutMs: timeoutMs,
      debug: false,
    },
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

describe('the statement timeout', () => {
  it('sets no statement_timeout on the session', async () => {
    const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(handle.db);
    expect(rows[0]?.statement_timeout).toBe('0');
  });

  it('cancels a statement that runs past it (57014), on the server too, and the connection goes on', async () => {
    const started = performance.now();
    const error = await sql`select pg_sleep(${5})`.execute(handle.db).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: '57014' });
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(elapsed).toBeLessThan(timeoutMs + 900); // before the client's own give-up, a second later
    // The one connection answers at once: the server is not still sleeping on it.
    const { rows } = await sql<{ one: number }>`select ${1}::int as one`.execute(handle.db);
    expect(rows).toEqual([{ one: 1 }]);
    const sleeping = await database.query(
      `select pid from pg_stat_activity where datname = $1 and query like 'select pg_sleep%' and state = 'active'`,
      [database.name],
    );
    expect(sleeping).toEqual([]);
  });

  it('cancels a statement inside a transaction, which then rolls back', async () => {
    await sql`create table if not exists marks (id int)`.execute(handle.db);
    const error = await handle.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into marks values (${1})`.execute(trx);
        await sql`select pg_sleep(${5})`.execute(trx);
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toMatchObject({ code: '57014' });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from marks`.execute(handle.db);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('leaves a statement that finishes in time, and the next one, alone', async () => {
    for (let index = 0; index < 5; index++) {
      const { rows } = await sql<{ n: number }>`select ${index}::int as n, pg_sleep(${0.05})`.execute(
        handle.db,
      );
      expect(rows[0]?.n).toBe(index);
    }
    // A cancel aimed at a finished statement would hit this one: it must run its whole length.
    await new Promise((resolve) => setTimeout(resolve, timeoutMs));
    const { rows } = await sql<{ ok: number }>`select 1 as ok from pg_sleep(${0.3})`.execute(handle.db);
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
