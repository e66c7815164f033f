import { describe, expect, it } from 'vitest';
import { holdRowLock, lockWaiters, lockWaitersXids } from '../support/row-lock.ts';
import { serviceForFile } from '../support/service.ts';

const service = serviceForFile();

const collection = '/api/rh-trex/v1/dinosaurs';
const createdIds: string[] = [];

async function create(species: string) {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status).toBe(201);
  createdIds.push(response.body.id);
  return response.body;
}

async function updateEvents(id: string): Promise<number> {
  const [row] = await service.database.query<{ count: string }>(
    `select count(*) from events where source = 'Dinosaurs' and source_id = $1 and event_type = 'Update'`,
    [id],
  );
  return Number(row?.count);
}

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('concurrent PATCHes of one dinosaur', () => {
  it('all succeed, each writes one Update event, and the last writer wins', async () => {
    const created = await create('Original');
    const species = Array.from({ length: 20 }, (_, index) => `Concurrent-${index}`);

    const responses = await Promise.all(
      species.map((name) =>
        service.api(`${collection}/${created.id}`, { method: 'PATCH', body: { species: name } }),
      ),
    );
    for (const [index, response] of responses.entries()) {
      expect(response.status, `PATCH ${species[index]}: ${response.text}`).toBe(200);
      // Writers are serialised, so each one answers with the row as its own write left it.
      expect(response.body.species).toBe(species[index]);
    }

    const final = (await service.api(`${collection}/${created.id}`)).body;
    expect(species).toContain(final.species);
    // The row holds the write that committed last: the newest updated_at any PATCH answered with.
    const latest = responses
      .map((response) => response.body.updated_at as string)
      .sort()
      .at(-1);
    expect(final.updated_at).toBe(latest);
    expect(
      responses.some(
        (response) => response.body.species === final.species && response.body.updated_at === latest,
      ),
    ).toBe(true);

    expect(await updateEvents(created.id)).toBe(20);
    // The write that committed last is timed no earlier than any before it, its event too: a writer
    // that read the clock before the one it waited for is not timed before it.
    const times = await service.database.query<{ created_at: Date }>(
      `select created_at from events where source_id = $1 and event_type = 'Update'`,
      [created.id],
    );
    expect(Math.max(...times.map((row) => row.created_at.getTime()))).toBe(
      new Date(final.updated_at).getTime(),
    );
    // Watch streams read events in (txid, seq) order: one row's writers take their transaction ids in
    // the order they commit, so the last event streamed is the row as it is.
    const streamed = await service.database.query<{ species: string; created_at: Date }>(
      `select object->>'species' as species, created_at from events
        where source_id = $1 and event_type = 'Update' order by txid, seq`,
      [created.id],
    );
    expect(streamed.at(-1)?.species).toBe(final.species);
    const streamedTimes = streamed.map((row) => row.created_at.getTime());
    expect(streamedTimes).toEqual([...streamedTimes].sort((a, b) => a - b));
  }, 60_000);
});

describe('a plain PATCH beside a writer that holds the row', () => {
  it('waits for its turn before it takes a transaction id, then applies to the row that writer left', async () => {
    const created = await create('Original');
    // A locked writer mid-transaction: it holds the row's turn and has changed the species.
    const writer = await holdRowLock(service.database.url, 'dinosaurs', created.id, {
      asWriter: true,
      set: { species: 'Changed' },
    });
    try {
      // The patch restores the value its statement's snapshot still sees.
      const pending = service.api(`${collection}/${created.id}`, {
        method: 'PATCH',
        body: { species: 'Original' },
      });
      await waitUntil(
        async () => (await lockWaiters(service.database.query, service.database.name)) === 1,
        'the PATCH waits for its turn',
      );
      // No transaction id yet, so it cannot be streamed before a writer it waits for.
      expect(await lockWaitersXids(service.database.query, service.database.name)).toEqual([null]);

      await writer.release();
      const response = await pending;
      expect(response.status, response.text).toBe(200);
      expect(response.body.species).toBe('Original');
      expect((await service.api(`${collection}/${created.id}`)).body.species).toBe('Original');
      expect(await updateEvents(created.id)).toBe(1);
    } finally {
      await writer.release();
    }
  }, 60_000);
});

describe('plain PATCHes (one statement) beside PATCHes with If-Match and a DELETE (in a transaction)', () => {
  it('If-Match holds against the row each replaces, no write is lost, and nothing is written once deleted', async () => {
    const created = await create('Mixed');
    const original = await service.api(`${collection}/${created.id}`);
    const etag = original.headers.get('etag') ?? '';
    const plain = Array.from({ length: 8 }, (_, index) => `Plain-${index}`);
    const conditional = Array.from({ length: 8 }, (_, index) => `IfMatch-${index}`);
    const writes = await Promise.all([
      ...plain.map((species) =>
        service.api(`${collection}/${created.id}`, { method: 'PATCH', body: { species } }),
      ),
      ...conditional.map((species) =>
        service.api(`${collection}/${created.id}`, {
          method: 'PATCH',
          body: { species },
          headers: { 'if-match': etag },
        }),
      ),
    ]);
    const [plainAnswers, conditionalAnswers] = [writes.slice(0, 8), writes.slice(8)];
    for (const response of plainAnswers) expect(response.status, response.text).toBe(200);
    // The original row is replaced once: at most one If-Match write finds it, the others see 412.
    const matched = conditionalAnswers.filter((response) => response.status === 200);
    expect(matched.length).toBeLessThanOrEqual(1);
    for (const response of conditionalAnswers) expect([200, 412], response.text).toContain(response.status);
    // Every write that answered 200 with a change recorded its event: none was lost or doubled.
    expect(await updateEvents(created.id)).toBe(8 + matched.length);

    const final = await service.api(`${collection}/${created.id}`);
    const deleted = await service.api(`${collection}/${created.id}`, {
      method: 'DELETE',
      headers: { 'if-match': final.headers.get('etag') ?? '' },
    });
    expect(deleted.status).toBe(204);
    const late = await service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: { species: 'Late' },
    });
    expect(late.status).toBe(404);
    expect(await updateEvents(created.id)).toBe(8 + matched.length);
  }, 60_000);
});

describe("the row's lock", () => {
  it('holds a PATCH back until the holder commits, then the PATCH completes with 200', async () => {
    const created = await create('Locked');
    const lock = await holdRowLock(service.database.url, 'dinosaurs', created.id);
    let settled = false;
    try {
      const pending = service
        .api(`${collection}/${created.id}`, { method: 'PATCH', body: { species: 'Unlocked' } })
        .finally(() => {
          settled = true;
        });

      await waitUntil(
        async () => (await lockWaiters(service.database.query, service.database.name)) === 1,
        'the PATCH waits for the lock',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      expect((await service.api(`${collection}/${created.id}`)).body.species).toBe('Locked');
      expect(await updateEvents(created.id)).toBe(0);

      await lock.release();
      const response = await pending;
      expect(response.status).toBe(200);
      expect(response.body.species).toBe('Unlocked');
      expect(await updateEvents(created.id)).toBe(1);
    } finally {
      await lock.release();
    }
  }, 60_000);

  it('locks one row only: a PATCH of another dinosaur is not held back', async () => {
    const locked = await create('Held');
    const free = await create('Free');
    const lock = await holdRowLock(service.database.url, 'dinosaurs', locked.id);
    try {
      const response = await service.api(`${collection}/${free.id}`, {
        method: 'PATCH',
        body: { species: 'Moved' },
      });
      expect(response.status).toBe(200);
      expect(response.body.species).toBe('Moved');
    } finally {
      await lock.release();
    }
  }, 60_000);
});

describe('a failed write', () => {
  // While it exists, no event can be inserted: every write fails at its event.
  async function withEventsRefused(run: () => Promise<void>): Promise<void> {
    await service.database.query('alter table events add constraint no_events check (false) not valid');
    try {
      await run();
    } finally {
      await service.database.query('alter table events drop constraint if exists no_events');
    }
  }

  it('leaves neither a row nor an event when the event cannot be written (POST)', async () => {
    const [before] = await service.database.query<{ rows: string; events: string }>(
      'select (select count(*) from dinosaurs) as rows, (select count(*) from events) as events',
    );
    await withEventsRefused(async () => {
      const response = await service.api(collection, { method: 'POST', body: { species: 'Phantom' } });
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(response.body).toMatchObject({ kind: 'Error' });
    });
    const [after] = await service.database.query<{ rows: string; events: string }>(
      'select (select count(*) from dinosaurs) as rows, (select count(*) from events) as events',
    );
    expect(after).toEqual(before);
    expect(await service.database.query(`select id from dinosaurs where species = 'Phantom'`)).toEqual([]);
  });

  it('leaves the row unchanged when the Update or Delete event cannot be written', async () => {
    const created = await create('Steady');
    await withEventsRefused(async () => {
      const patched = await service.api(`${collection}/${created.id}`, {
        method: 'PATCH',
        body: { species: 'Shaken' },
      });
      expect(patched.status).toBeGreaterThanOrEqual(500);
      const deleted = await service.api(`${collection}/${created.id}`, { method: 'DELETE' });
      expect(deleted.status).toBeGreaterThanOrEqual(500);
    });
    const rows = await service.database.query<{ species: string; updated_at: Date; deleted_at: Date | null }>(
      'select species, updated_at, deleted_at from dinosaurs where id = $1',
      [created.id],
    );
    expect(rows.map((row) => ({ ...row, updated_at: row.updated_at.toISOString() }))).toEqual([
      { species: 'Steady', updated_at: created.updated_at, deleted_at: null },
    ]);
    expect((await service.api(`${collection}/${created.id}`)).body).toEqual(created);

    // And once events can be written again, the same writes succeed.
    const patched = await service.api(`${collection}/${created.id}`, {
      method: 'PATCH',
      body: { species: 'Shaken' },
    });
    expect(patched.status).toBe(200);
    expect(await updateEvents(created.id)).toBe(1);
  });
});

describe('after all of the above', () => {
  it('leaves no advisory lock held and no connection idle in a transaction', async () => {
    const heldLocks = () =>
      service.database.query(
        `select l.pid, l.objid, l.granted from pg_locks l join pg_database d on d.oid = l.database
          where l.locktype = 'advisory' and d.datname = $1`,
        [service.database.name],
      );
    const idleInTransaction = () =>
      service.database.query(
        `select pid, query from pg_stat_activity
          where datname = $1 and state in ('idle in transaction', 'idle in transaction (aborted)')`,
        [service.database.name],
      );
    // Background work (the controller manager reconciling the events written above) may hold a lock or
    // a transaction for a moment; what must not happen is one that is never released. So wait for a
    // quiet moment, then assert, showing what is still held if there is none.
    // A leaked lock or transaction never goes away, so the test asks for one moment with neither.
    let seen = { locks: await heldLocks(), idle: await idleInTransaction() };
    const deadline = Date.now() + 15_000;
    while ((seen.locks.length > 0 || seen.idle.length > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = { locks: await heldLocks(), idle: await idleInTransaction() };
    }
    expect(seen).toEqual({ locks: [], idle: [] });
  }, 30_000);

  it('has exactly one Create event for every dinosaur and no event without its dinosaur', async () => {
    const rows = await service.database.query<{ id: string; creates: string }>(
      `select d.id, count(e.id) filter (where e.event_type = 'Create') as creates
         from dinosaurs d left join events e on e.source = 'Dinosaurs' and e.source_id = d.id
        group by d.id`,
    );
    expect(rows.map((row) => row.id).sort()).toEqual([...createdIds].sort());
    expect(rows.filter((row) => Number(row.creates) !== 1)).toEqual([]);

    const orphans = await service.database.query(
      `select e.id, e.source, e.source_id, e.event_type from events e
        where not exists (select 1 from dinosaurs d where d.id = e.source_id)`,
    );
    expect(orphans).toEqual([]);
  });
});
