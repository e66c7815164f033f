import { CompiledQuery, type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from '../../db/database.ts';
import { type ChangeEvent, changeWithEvent } from '../../events/event-store.ts';
import type { OrderTerm } from '../../search/order.ts';
import { afterCursor, cursorAfter, keyExpression, orderKeys } from './cursor.ts';
import type { Fields } from './fields.ts';
import type { FieldValues, KindDefinition, KindRow } from './kind.ts';
import { type EmbeddedField, type JoinScope, relationJoins } from './relations.ts';

// Every Kind table, seen by the generic DAO. Column names are the Kind's JSON field names.
type KindTables = Record<string, KindRow>;
type KindDb = Kysely<Database & KindTables>;

/** What one page of a list reads: a search, an order, and the page as an offset and a limit. */
export interface ListSelection {
  /** A compiled search; undefined: every live row. */
  readonly where: RawBuilder<SqlBool> | undefined;
  /** The order; empty: created_at, id. */
  readonly orderBy: readonly OrderTerm[];
  /** Rows to skip (not pages). */
  readonly offset: number;
  /** Rows to return at most; 0 reads only the total. */
  readonly limit: number;
  /** The relations the search, the order and the embedding reach. */
  readonly joins?: readonly string[];
  /** Fields of referenced rows, read as the key `<relation>.<field>` of each row. */
  readonly embed?: readonly EmbeddedField[];
  /** A condition each joined relation's rows must meet too (the caller's tenant), if any. */
  readonly joinScope?: JoinScope;
  /** How to count the total; undefined: exactly. */
  readonly count?: TotalCounting;
  /** A cursor's values (cursor.ts): the page starts after the row they name, in the list's order. */
  readonly after?: readonly unknown[];
}

/**
 * How a list counts its total (docs/api.md#totals): `capped` counts exactly up to `limit` rows and
 * takes PostgreSQL's estimate beyond, so a list over millions of rows never scans them all; `exact`
 * always counts; `estimated` only asks the planner.
 */
export interface TotalCounting {
  readonly mode: 'capped' | 'exact' | 'estimated';
  /** With `capped`: the most rows counted exactly. */
  readonly limit: number;
}

/** Which rows a read by id may find besides its id: one tenant's, and those a scope admits. */
export interface RowFilter {
  readonly tenant?: string | undefined;
  readonly scope?: RawBuilder<SqlBool> | undefined;
  /** Lock the row read for update (in a transaction): no other writer changes it until that ends. */
  readonly forUpdate?: boolean;
}

export interface ListResult<F extends Fields = Fields> {
  /** The page's rows, in the list's order. */
  readonly rows: KindRow<F>[];
  /** The number of live rows matching the search, ignoring paging; estimated when `estimated` says so. */
  readonly total: number;
  /** The total is PostgreSQL's estimate (never below the rows this page shows, with those before it). */
  readonly estimated: boolean;
  /** The cursor of the next page, when this one is full (there may be more). */
  readonly next?: string;
}

/** SQL for one Kind's table. Reads see live rows only (soft delete via deleted_at). */
export class KindDao {
  private readonly table: string;

  /** The DAO of the Kind's table, named by its plural. */
  constructor(private readonly kind: KindDefinition) {
    this.table = kind.plural;
  }

  /**
   * The live row with this id, undefined when there is none; with `includeDeleted`, a soft-deleted
   * one too; only a row of `only.tenant` and that `only.scope` admits; with `only.forUpdate`, locked
   * for update until the transaction `db` ends. Every GET runs it, so its SQL is built once (building
   * and compiling it each time cost 5% of a GET).
   */
  async find(
    db: Kysely<Database>,
    id: string,
    includeDeleted = false,
    only: RowFilter = {},
  ): Promise<KindRow | undefined> {
    const lock = only.forUpdate ? ' for update' : '';
    if (only.scope) {
      const live = includeDeleted ? sql`` : sql`and deleted_at is null`;
      const tenant = only.tenant === undefined ? sql`` : sql`and tenant_id = ${only.tenant}`;
      const { rows } = await sql<KindRow>`
        select * from ${sql.table(this.table)} where id = ${id} ${live} ${tenant} and (${only.scope})${sql.raw(lock)}`.execute(
        db,
      );
      return rows[0];
    }
    this.findQueries ??= [false, true].flatMap((locked) =>
      [false, true].flatMap((deletedToo) =>
        [false, true].map((tenanted) => {
          const live = deletedToo ? '' : ' and deleted_at is null';
          const tenant = tenanted ? ' and tenant_id = $2' : '';
          return `select * from "${this.table}" where id = $1${live}${tenant}${locked ? ' for update' : ''}`;
        }),
      ),
    );
    const tenanted = only.tenant !== undefined;
    const query =
      this.findQueries[(only.forUpdate ? 4 : 0) + (includeDeleted ? 2 : 0) + (tenanted ? 1 : 0)] ?? '';
    const parameters = tenanted ? [id, only.tenant] : [id];
    const { rows } = await db.executeQuery<KindRow>(CompiledQuery.raw(query, parameters));
    return rows[0];
  }

  // Unlocked and locked, without and with deleted rows, each without and with a tenant: $1 the id, $2
  // the tenant.
  private findQueries: string[] | undefined;

  /**
   * One page of live rows and the number of rows matching, ignoring paging, in one statement each.
   * Any order ends with `id`, so pages never overlap or skip rows that tie on the ordered fields.
   * Related rows come from joins in the same statement, never from a query per item.
   */
  async list(db: Kysely<Database>, selection: ListSelection): Promise<ListResult> {
    const table = sql.table(this.table);
    const live = sql<SqlBool>`${sql.ref(`${this.table}.deleted_at`)} is null`;
    const from = sql`${table} ${relationJoins(this.kind, selection.joins ?? [], this.table, selection.joinScope)}`;
    const where = selection.where ? sql`${live} and ${selection.where}` : live;
    const counted = await this.count(db, sql`select 1 from ${from} where ${where}`, selection.count);
    // An offset past any possible table (or past what PostgreSQL's bigint takes) is simply past the end.
    if (selection.limit === 0 || !Number.isSafeInteger(selection.offset)) return { rows: [], ...counted };
    const keys = orderKeys(this.table, selection.orderBy);
    const order = sql.join(keys.map((key) => sql`${keyExpression(key)} ${sql.raw(key.direction)}`));
    const embedded = new Set((selection.embed ?? []).map(({ relation, field }) => `${relation}.${field}`));
    const columns = [
      sql`${table}.*`,
      ...[...embedded].map((name) => sql`${sql.ref(name)} as ${sql.id(name)}`),
      // A relation's field the order names, to make the next page's cursor from.
      ...keys
        .filter((key) => key.rowKey.includes('.') && key.prefix === undefined && !embedded.has(key.rowKey))
        .map((key) => sql`${sql.ref(key.column)} as ${sql.id(key.rowKey)}`),
    ];
    const page = selection.after ? sql`${where} and ${afterCursor(keys, selection.after)}` : where;
    const { rows } = await sql<KindRow>`
      select ${sql.join(columns)} from ${from} where ${page}
      order by ${order} limit ${selection.limit} offset ${selection.offset}`.execute(db);
    const last = rows.length === selection.limit ? rows.at(-1) : undefined;
    // An estimate is never below what the pages so far have shown, and past a full page there may be more:
    // a client paging until `total` never stops early.
    const seen =
      rows.length > 0 ? selection.offset + rows.length + (rows.length === selection.limit ? 1 : 0) : 0;
    return {
      rows,
      ...counted,
      total: counted.estimated ? Math.max(counted.total, seen) : counted.total,
      ...(last ? { next: cursorAfter(keys, last) } : {}),
    };
  }

  // The total of a list's rows (`matching` selects them), counted as `counting` says.
  private async count(
    db: Kysely<Database>,
    matching: RawBuilder<unknown>,
    counting: TotalCounting = { mode: 'exact', limit: 0 },
  ): Promise<{ total: number; estimated: boolean }> {
    if (counting.mode === 'estimated') return { total: await estimatedRows(db, matching), estimated: true };
    const capped = counting.mode === 'capped';
    const { rows } = await sql<{ total: string }>`
      select count(*) as total from (${matching} ${capped ? sql`limit ${counting.limit + 1}` : sql``}) matching`.execute(
      db,
    );
    const total = Number(rows[0]?.total ?? 0);
    if (!capped || total <= counting.limit) return { total, estimated: false };
    // Past the limit: more than `limit` rows match, however few the planner thinks.
    return { total: Math.max(await estimatedRows(db, matching), counting.limit + 1), estimated: true };
  }

  /**
   * Whether the live row with this id exists, locking it against deletion (FOR SHARE) until the
   * transaction ends: a row being referenced cannot be deleted under the reference being written.
   */
  async lockLive(db: Kysely<Database>, id: string, scope?: RawBuilder<SqlBool>): Promise<boolean> {
    const { rows } = await sql`
      select 1 from ${sql.table(this.table)} where id = ${id} and deleted_at is null
        ${scope ? sql`and ${scope}` : sql``} for share`.execute(db);
    return rows.length > 0;
  }

  /** How many live rows hold `id` in the reference field `field`. */
  async countReferencing(
    db: Kysely<Database>,
    field: string,
    id: string,
    scope?: RawBuilder<SqlBool>,
  ): Promise<number> {
    const { rows } = await sql<{ count: string }>`
      select count(*) from ${sql.table(this.table)}
      where ${sql.ref(field)} = ${id} and deleted_at is null ${scope ? sql`and ${scope}` : sql``}`.execute(
      db,
    );
    return Number(rows[0]?.count ?? 0);
  }

  /**
   * Inserts the row and returns it as stored. Writes record their event in the same statement
   * (events/event-store.ts).
   */
  async insert(
    db: Kysely<Database>,
    row: FieldValues & { id: string },
    event: ChangeEvent,
  ): Promise<KindRow> {
    const insert = this.kindDb(db).insertInto(this.table).values(row).returningAll();
    return (await changeWithEvent<KindRow>(db, insert, event)) ?? this.missing(row.id);
  }

  /**
   * Sets `changes` on the row with this id and records `event` in the same statement. The caller has
   * locked and read the row just before, so a row not written throws a plain Error (a bug, not a 404).
   */
  async update(
    db: Kysely<Database>,
    id: string,
    changes: FieldValues & { updated_at: Date },
    event: ChangeEvent,
  ): Promise<KindRow> {
    const update = this.kindDb(db).updateTable(this.table).set(changes).where('id', '=', id).returningAll();
    return (await changeWithEvent<KindRow>(db, update, event)) ?? this.missing(id);
  }

  /**
   * Sets `changes` and `always` on the live row with this id (of `only.tenant`, admitted by
   * `only.scope`) and records `event`, in one statement, unless every changed field already holds its
   * value; undefined when nothing was written (no such row, or nothing to change as this statement's
   * snapshot saw it). The statement first waits for `turn` (the row's writers' lock, taken before any
   * row is read); a writer of the row that committed meanwhile left the row that is compared and
   * changed, unless the snapshot already held the patch's values.
   */
  async updateIfChanged(
    db: Kysely<Database>,
    id: string,
    changes: FieldValues,
    always: FieldValues & { updated_at: Date },
    event: ChangeEvent,
    turn: RawBuilder<SqlBool>,
    only: RowFilter = {},
  ): Promise<KindRow | undefined> {
    const changed = Object.entries(changes).map(
      ([name, value]) => sql<SqlBool>`${sql.ref(name)} is distinct from ${value}`,
    );
    if (changed.length === 0) return undefined;
    // Timed no earlier than the write it follows: a writer that waited for the row's lock may have read
    // the clock before the one it waited for, and updated_at, and the event's time, follow the writes.
    let update = this.kindDb(db)
      .updateTable(this.table)
      .set({
        ...changes,
        ...always,
        updated_at: sql<Date>`greatest(${always.updated_at}::timestamptz, ${sql.ref('updated_at')})`,
      })
      .where(turn)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .where(sql<SqlBool>`(${sql.join(changed, sql` or `)})`);
    if (only.tenant !== undefined) update = update.where('tenant_id', '=', only.tenant);
    if (only.scope) update = update.where(only.scope);
    return await changeWithEvent<KindRow>(db, update.returningAll(), { ...event, timedByRow: true });
  }

  /** The live row marked deleted, with `event` recorded; undefined when there is none. */
  async softDelete(db: Kysely<Database>, id: string, event: ChangeEvent): Promise<KindRow | undefined> {
    const softDelete = this.kindDb(db)
      .updateTable(this.table)
      .set({ deleted_at: event.at })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll();
    return await changeWithEvent<KindRow>(db, softDelete, event);
  }

  // Inserts return their row, and updates run on a row locked and read just before.
  private missing(id: string): never {
    throw new Error(`${this.kind.name} with id='${id}' was not written`);
  }

  private kindDb(db: Kysely<Database>): KindDb {
    return db.withTables<KindTables>();
  }
}

// The rows PostgreSQL's planner expects `query` to return (from the table's statistics; no rows read).
async function estimatedRows(db: Kysely<Database>, query: RawBuilder<unknown>): Promise<number> {
  const { rows } = await sql<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>`
    explain (format json) ${query}`.execute(db);
  return Math.round(rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0);
}
