// The consistency audit of `npm run soak`: what the clients were told, checked against the database.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

// What the clients know about one row they created: its last species, whether they deleted it, and how
// many of their patches changed it (each must have written one Update event).
export interface ExpectedRow {
  species: string;
  deleted: boolean;
  updates: number;
}

// Events the controllers have still to reconcile.
export const waitingEvents =
  'select count(*)::int as n from events where reconciled_date is null and failed_at is null';

export interface AuditResult {
  readonly lines: string[];
  readonly findings: number;
}

// Waits for the controllers to reconcile every event (until the backlog stops shrinking for `waitMs`),
// then checks rows, events, locks and sessions. Run it while the service is still up: a lock it left
// behind is only visible then.
export async function audit(
  url: string,
  expected: ReadonlyMap<string, ExpectedRow>,
  waitMs: number,
): Promise<AuditResult> {
  const client = new pg.Client({ connectionString: url, application_name: 'trex-soak-audit' });
  await client.connect();
  const lines: string[] = [];
  let findings = 0;
  // `count`: how many things the problems stand for, when one problem line covers several.
  const check = (problems: string[], ok: string, what: string, count = problems.length): void => {
    if (problems.length === 0) return void lines.push(`ok    ${ok}`);
    findings += count;
    lines.push(`FAIL  ${count} ${what}`, ...problems.slice(0, 12).map((problem) => `        ${problem}`));
  };
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> =>
    (await client.query<R>(text, values)).rows;

  try {
    const waitStarted = Date.now();
    const waiting = async (): Promise<number> => (await query<{ n: number }>(waitingEvents))[0]?.n ?? 0;
    const before = await waiting();
    let after = before;
    // The controllers drain a backlog after the load: wait while it shrinks, until it stalls for
    // `waitMs` (or three minutes have passed).
    let lastProgress = Date.now();
    while (after > 0 && Date.now() - lastProgress < waitMs && Date.now() - waitStarted < 180_000) {
      await sleep(500);
      const now = await waiting();
      if (now < after) lastProgress = Date.now();
      after = now;
    }
    const waited = ((Date.now() - waitStarted) / 1000).toFixed(1);
    lines.push(`      ${before} events waiting when the load stopped, ${after} after ${waited} s`);

    const rows = new Map(
      (
        await query<{ id: string; species: string; deleted: boolean }>(
          'select id, species, deleted_at is not null as deleted from dinosaurs',
        )
      ).map((row) => [row.id, row]),
    );
    const counts = new Map<string, Record<string, number>>();
    for (const { source_id, event_type, n } of await query<{
      source_id: string;
      event_type: string;
      n: number;
    }>(
      `select source_id, event_type, count(*)::int as n from events where source = 'Dinosaurs' group by 1, 2`,
    )) {
      counts.set(source_id, { ...counts.get(source_id), [event_type]: n });
    }

    const rowProblems: string[] = [];
    const eventProblems: string[] = [];
    for (const [id, want] of expected) {
      const row = rows.get(id);
      if (!row) rowProblems.push(`${id} missing`);
      else if (row.deleted !== want.deleted)
        rowProblems.push(`${id} deleted=${row.deleted}, want ${want.deleted}`);
      else if (row.species !== want.species)
        rowProblems.push(`${id} species '${row.species}', want '${want.species}'`);
      const got = counts.get(id) ?? {};
      const wanted = { Create: 1, Update: want.updates, Delete: want.deleted ? 1 : 0 };
      for (const [type, n] of Object.entries(wanted)) {
        if ((got[type] ?? 0) !== n) eventProblems.push(`${id} has ${got[type] ?? 0} ${type}, want ${n}`);
      }
    }
    check(
      rowProblems,
      `all ${expected.size} created rows exist, deleted iff deleted, with the last species`,
      'rows wrong',
    );
    const unknown = [...rows.keys()].filter((id) => !expected.has(id));
    check(
      unknown,
      `no row that no client was told about (${rows.size} rows)`,
      'rows no client got a 201 for',
    );
    check(
      eventProblems,
      'one Create per row, one Update per changing patch, one Delete per delete',
      'event counts wrong',
    );

    // Grouped by what tells the causes apart: the row's state, and whether a handler ever ran.
    const stuck = await query<{ n: number; what: string }>(
      `select count(*)::int as n, format('%s, row %s, %s', e.event_type,
         case when d.deleted_at is null then 'live' else 'deleted' end,
         case when max(e.attempts) = 0 then 'never tried'
           else format('tried up to %s times, last error: %s', max(e.attempts), max(e.last_error)) end) as what
       from events e left join dinosaurs d on d.id = e.source_id
       where e.reconciled_date is null and e.failed_at is null
       group by e.event_type, d.deleted_at is null, e.attempts > 0 order by 2`,
    );
    check(
      stuck.map((s) => `${s.n} ${s.what}`),
      'every event reconciled',
      'events unreconciled',
      stuck.reduce((sum, s) => sum + s.n, 0),
    );
    const failed = await query<{ id: string; event_type: string; last_error: string | null }>(
      'select id, event_type, last_error from events where failed_at is not null',
    );
    check(
      failed.map((e) => `${e.id} ${e.event_type}: ${e.last_error}`),
      'no event failed',
      'events failed',
    );

    // A worker may hold a claim for a moment: only a lock seen in three samples a second apart counts.
    let held: string[] | undefined;
    for (let sample = 0; sample < 3; sample++) {
      if (sample > 0) await sleep(1000);
      const now = (
        await query<{ lock: string }>(
          `select format('pid %s (%s) key %s/%s %s', l.pid, a.application_name, l.classid, l.objid, l.mode) as lock
           from pg_locks l join pg_database d on d.oid = l.database left join pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and d.datname = current_database() and l.pid <> pg_backend_pid()`,
        )
      ).map((row) => row.lock);
      held = held ? held.filter((lock) => now.includes(lock)) : now;
    }
    check(held ?? [], 'no advisory lock held', 'advisory locks held');
    const idle = await query<{ session: string }>(
      `select format('pid %s (%s) since %s: %s', pid, application_name, state_change, left(query, 80)) as session
       from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`,
    );
    check(
      idle.map((row) => row.session),
      'no session idle in transaction',
      'sessions idle in transaction',
    );
  } finally {
    await client.end();
  }
  return { lines, findings };
}
