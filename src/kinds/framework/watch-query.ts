import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { EventType } from '../../events/event-store.ts';

/**
 * A position in the stream of one source's events: events are totally ordered by (txid, seq), and only
 * events of transactions older than every transaction still running in this database are read, so
 * nothing can later appear before a position already passed. `before` (a pg_snapshot) hides events that
 * were already visible when a new watch opened: a new watch starts at the present.
 */
export interface StreamPosition {
  /** The transaction id (xid8) of the last event passed, as text. */
  readonly txid: string;
  /** The `seq` of the last event passed (a bigint, as text). */
  readonly seq: string;
  /** A pg_snapshot, as text, whose visible events are skipped; only a watch begun at the present has one. */
  readonly before?: string;
}

/** One event of a watched stream, with the resource as its change left it. */
export interface StreamEvent {
  /** The event's id: a stream message's `id:`, and a client's Last-Event-ID to resume from. */
  readonly id: string;
  /** Create, Update or Delete. */
  readonly eventType: EventType;
  /** This event's position: reading after it resumes with the next event. */
  readonly position: StreamPosition;
  /** Whether the resource passes the watch's search. */
  readonly matches: boolean;
  /** The resource's row as the change left it. */
  readonly row: Record<string, unknown>;
}

/** The position of the present: a watch starting there sees only events committed after it opened. */
export async function presentPosition(db: Db): Promise<StreamPosition> {
  const { rows } = await sql<{ txid: string; before: string }>`
    select pg_snapshot_xmin(pg_current_snapshot())::text as txid, pg_current_snapshot()::text as before`.execute(
    db,
  );
  const row = rows[0];
  if (!row) throw new Error('no snapshot');
  return { txid: row.txid, seq: '0', before: row.before };
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
  return rows[0];
}

/** When the oldest event of `source` still kept was written; undefined when none is. */
export async function oldestEventTime(db: Db, source: string): Promise<Date | undefined> {
  const { rows } = await sql<{ oldest: Date | null }>`
    select min(created_at) as oldest from events where source = ${source}`.execute(db);
  return rows[0]?.oldest ?? undefined;
}

/**
 * Events after a position, in stream order, up to the stable bound: the oldest transaction still
 * running in this database (transactions of other databases on the server cannot write our events), or
 * the snapshot's xmax when none runs. Each comes with the resource as its change left it (the event's
 * `object`; for events written without one, the current row), aliased as the table so that a compiled
 * search applies to it. A search through relations comes with the joins it needs (`relations`), which
 * join the related rows as they are now. At most `limit` events.
 */
export async function eventsAfter(
  db: Db,
  source: string,
  table: string,
  after: StreamPosition,
  search: { readonly where: RawBuilder<SqlBool>; readonly relations: RawBuilder<unknown> } | undefined,
  tenant: RawBuilder<SqlBool> | undefined, // on `e`, the event: only the caller's tenant's events
  limit: number,
): Promise<StreamEvent[]> {
  const hidden = after.before
    ? sql`and not pg_visible_in_snapshot(e.txid, ${after.before}::pg_snapshot)`
    : sql``;
  const resource = sql.table(table);
  const { rows } = await sql<
    {
      event_id: string;
      event_type: EventType;
      event_txid: string;
      event_seq: string;
      matches: boolean;
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
      ${search?.where ?? sql<SqlBool>`true`} as matches, ${resource}.*
    from bound, events e
      cross join lateral jsonb_populate_record(
        null::${resource},
        coalesce(e.object, (select to_jsonb(current_row) from ${resource} current_row where current_row.id = e.source_id))
      ) as ${resource}
      ${search?.relations ?? sql``}
    where e.source = ${source} ${tenant ? sql`and ${tenant}` : sql``}
      and (e.txid, e.seq) > (${after.txid}::xid8, ${after.seq}::bigint)
      and e.txid < bound.txid
      ${hidden}
    order by e.txid, e.seq
    limit ${limit}`.execute(db);
  return rows.map(({ event_id, event_type, event_txid, event_seq, matches, ...row }) => ({
    id: event_id,
    eventType: event_type,
    position: { txid: event_txid, seq: event_seq, before: after.before },
    matches,
    row,
  }));
}
