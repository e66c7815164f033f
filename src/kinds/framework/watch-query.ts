import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { EventType } from '../../events/event-store.ts';

/**
 * A position in the stream of one source's events: events are totally ordered by (txid, seq), and only
 * events of transactions older than every transaction still running in this database are read, so
 * nothing can later appear before a position already passed.
 */
export interface StreamPosition {
  /** The transaction id (xid8) of the last event passed. */
  readonly txid: bigint;
  /** The `seq` of the last event passed. */
  readonly seq: bigint;
}

/**
 * What a pg_snapshot saw: a new watch skips the events its opening snapshot could already see, so it
 * starts at the present even though it reads from the oldest transaction then running.
 */
export interface Snapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly running: ReadonlySet<bigint>;
}

/** One event of a watched stream, with the resource as its change left it. */
export interface StreamEvent {
  /** The event's id: a stream message's `id:`, and a client's Last-Event-ID to resume from. */
  readonly id: string;
  /** Create, Update or Delete. */
  readonly eventType: EventType;
  /** This event's position: reading after it resumes with the next event. */
  readonly position: StreamPosition;
  /** The tenant the resource belongs to; null for a Kind that belongs to no tenant. */
  readonly tenant: string | null;
  /** The resource's row as the change left it. */
  readonly row: Record<string, unknown>;
}

/**
 * A watch's search, compiled in its request's context: its condition on the resource (aliased as the
 * Kind's table) and the joins of the relations it reads, kept to the caller's rows of them.
 */
export interface StreamFilter {
  readonly where: RawBuilder<SqlBool>;
  readonly relations: RawBuilder<unknown> | undefined;
}

/** Whether `a` comes after `b` in stream order. */
export function isAfter(a: StreamPosition, b: StreamPosition): boolean {
  return a.txid > b.txid || (a.txid === b.txid && a.seq > b.seq);
}

/** Whether a transaction's writes were visible in `snapshot`, as PostgreSQL's pg_visible_in_snapshot. */
export function visibleIn(snapshot: Snapshot, txid: bigint): boolean {
  return txid < snapshot.xmin || (txid < snapshot.xmax && !snapshot.running.has(txid));
}

/** The present: a watch starting here sees only the events committed after its snapshot was taken. */
export async function presentPosition(db: Db): Promise<{ position: StreamPosition; snapshot: Snapshot }> {
  const { rows } = await sql<{ snapshot: string }>`select pg_current_snapshot()::text as snapshot`.execute(
    db,
  );
  const [xmin = '0', xmax = '0', running = ''] = (rows[0]?.snapshot ?? '').split(':');
  const snapshot: Snapshot = {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    running: new Set(running === '' ? [] : running.split(',').map(BigInt)),
  };
  return { position: { txid: snapshot.xmin, seq: 0n }, snapshot };
}

/** The position of the event with this id in this source's stream (and tenant); undefined when there is none. */
export async function positionOf(
  db: Db,
  source: string,
  eventId: string,
  tenant: RawBuilder<SqlBool> | undefined,
): Promise<StreamPosition | undefined> {
  const { rows } = await sql<{ txid: string; seq: string }>`
    select txid::text as txid, seq::text as seq from events e
    where id = ${eventId} and source = ${source} ${tenant ? sql`and ${tenant}` : sql``}`.execute(db);
  const row = rows[0];
  return row && { txid: BigInt(row.txid), seq: BigInt(row.seq) };
}

/** When the oldest event of `source` still kept was written; undefined when none is. */
export async function oldestEventTime(db: Db, source: string): Promise<Date | undefined> {
  const { rows } = await sql<{ oldest: Date | null }>`
    select min(created_at) as oldest from events where source = ${source}`.execute(db);
  return rows[0]?.oldest ?? undefined;
}

// The resource as an event's change left it (the event's `object`; for events written without one, the
// current row), aliased as the Kind's table so that a compiled search applies to it.
function resourceOf(table: string): RawBuilder<unknown> {
  const resource = sql.table(table);
  return sql`cross join lateral jsonb_populate_record(
      null::${resource},
      coalesce(e.object, (select to_jsonb(current_row) from ${resource} current_row where current_row.id = e.source_id))
    ) as ${resource}`;
}

/**
 * Events after a position, in stream order, up to the stable bound: the oldest transaction still
 * running in this database (transactions of other databases on the server cannot write our events), or
 * the snapshot's xmax when none runs. Each comes with the resource as its change left it. `tenant` (on
 * `e`, the event) keeps the read to one tenant's events. At most `limit` events.
 */
export async function eventsAfter(
  db: Db,
  source: string,
  table: string,
  after: StreamPosition,
  tenant: RawBuilder<SqlBool> | undefined,
  limit: number,
): Promise<StreamEvent[]> {
  const { rows } = await sql<
    {
      event_id: string;
      event_type: EventType;
      event_txid: string;
      event_seq: string;
      event_tenant: string | null;
    } & Record<string, unknown>
  >`
    with snapshot as (select pg_current_snapshot() as s),
    elsewhere as (
      select backend_xid::text::bigint as xid from pg_stat_activity
      where datname is distinct from current_database() and backend_xid is not null
    ),
    bound as (
      select coalesce(
        (select min(x) from snapshot, pg_snapshot_xip(snapshot.s) as x
          where (x::text::bigint % 4294967296) not in (select xid from elsewhere)),
        (select pg_snapshot_xmax(s) from snapshot)
      ) as txid
    )
    select e.id as event_id, e.event_type, e.txid::text as event_txid, e.seq::text as event_seq,
      e.tenant_id as event_tenant, ${sql.table(table)}.*
    from bound, events e ${resourceOf(table)}
    where e.source = ${source} ${tenant ? sql`and ${tenant}` : sql``}
      and (e.txid, e.seq) > (${String(after.txid)}::xid8, ${String(after.seq)}::bigint)
      and e.txid < bound.txid
    order by e.txid, e.seq
    limit ${limit}`.execute(db);
  return rows.map(({ event_id, event_type, event_txid, event_seq, event_tenant, ...row }) => ({
    id: event_id,
    eventType: event_type,
    position: { txid: BigInt(event_txid), seq: BigInt(event_seq) },
    tenant: event_tenant,
    row,
  }));
}

/** Which of some events pass which filters: for each event id, one boolean per filter, in order. */
export type FilterEvaluation = (eventIds: readonly string[]) => Promise<Map<string, boolean[]>>;

/**
 * The statement that evaluates `filters` over events (a null condition does not pass), compiled once and
 * run for each batch of events read. A filter's relations are joined in a subquery of its own, where they
 * are one row at most (every relation is many-to-one).
 */
export function filterEvaluation(
  db: Db,
  source: string,
  table: string,
  filters: readonly StreamFilter[],
): FilterEvaluation {
  const conditions = filters.map(({ where, relations }) =>
    relations
      ? sql`coalesce((select ${where} from (values (1)) as one_row(x) ${relations}), false)`
      : sql`coalesce(${where}, false)`,
  );
  // The event ids are the first parameter, so each run swaps them into the compiled statement.
  const compiled = sql<{ id: string; matches: boolean[] }>`
    with wanted as (select unnest(${[] as string[]}::text[]) as id)
    select e.id, array[${sql.join(conditions)}]::bool[] as matches
    from wanted join events e on e.id = wanted.id ${resourceOf(table)}
    where e.source = ${source}`.compile(db);
  return async (eventIds) => {
    const { rows } = await db.executeQuery<{ id: string; matches: boolean[] }>({
      ...compiled,
      parameters: [eventIds, ...compiled.parameters.slice(1)],
    });
    return new Map(rows.map((row) => [row.id, row.matches]));
  };
}
