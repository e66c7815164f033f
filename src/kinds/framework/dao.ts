import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { OrderTerm } from '../../search/order.ts';
import type { KindDefinition, KindRow } from './kind.ts';

// Every Kind table, seen by the generic DAO. Column names are the Kind's JSON field names.
type KindTables = Record<string, KindRow>;
type KindDb = Kysely<Database & KindTables>;

export interface ListSelection {
  readonly where: RawBuilder<SqlBool> | undefined; // a compiled search
  readonly orderBy: readonly OrderTerm[]; // empty: created_at, id
  readonly offset: number;
  readonly limit: number;
}

export interface ListResult {
  readonly rows: KindRow[];
  readonly total: number;
}

// SQL for one Kind's table. Reads see live rows only (soft delete via deleted_at).
export class KindDao {
  private readonly table: string;

  constructor(kind: KindDefinition) {
    this.table = kind.plural;
  }

  // The live row with this id; with `includeDeleted`, a soft-deleted one too.
  async find(db: Kysely<Database>, id: string, includeDeleted = false): Promise<KindRow | undefined> {
    return await this.kindDb(db)
      .selectFrom(this.table)
      .selectAll()
      .$castTo<KindRow>()
      .where('id', '=', id)
      .$if(!includeDeleted, (query) => query.where('deleted_at', 'is', null))
      .executeTakeFirst();
  }

  // One page of live rows and the number of rows matching, ignoring paging. Any order ends with `id`,
  // so pages never overlap or skip rows that tie on the ordered fields.
  async list(db: Kysely<Database>, selection: ListSelection): Promise<ListResult> {
    const matching = this.kindDb(db)
      .selectFrom(this.table)
      .where('deleted_at', 'is', null)
      .$if(selection.where !== undefined, (query) => query.where(selection.where as RawBuilder<SqlBool>));
    const { total } = await matching.select(sql<string>`count(*)`.as('total')).executeTakeFirstOrThrow();
    // An offset past any possible table (or past what PostgreSQL's bigint takes) is simply past the end.
    if (selection.limit === 0 || !Number.isSafeInteger(selection.offset))
      return { rows: [], total: Number(total) };
    const terms: [string, 'asc' | 'desc'][] =
      selection.orderBy.length > 0
        ? selection.orderBy.map((term) => [term.field.qualifiedColumn, term.direction])
        : [[`${this.table}.created_at`, 'asc']];
    if (!terms.some(([column]) => column === `${this.table}.id`)) terms.push([`${this.table}.id`, 'asc']);
    let query = matching.selectAll().$castTo<KindRow>();
    for (const [column, direction] of terms) query = query.orderBy(sql.ref(column), direction);
    const rows = await query.limit(selection.limit).offset(selection.offset).execute();
    return { rows, total: Number(total) };
  }

  async insert(db: Kysely<Database>, row: KindRow): Promise<KindRow> {
    return await this.kindDb(db)
      .insertInto(this.table)
      .values(row)
      .returningAll()
      .$castTo<KindRow>()
      .executeTakeFirstOrThrow();
  }

  async update(db: Kysely<Database>, id: string, changes: Partial<KindRow>): Promise<KindRow> {
    return await this.kindDb(db)
      .updateTable(this.table)
      .set(changes)
      .where('id', '=', id)
      .returningAll()
      .$castTo<KindRow>()
      .executeTakeFirstOrThrow();
  }

  async softDelete(db: Kysely<Database>, id: string, now: Date): Promise<KindRow | undefined> {
    return await this.kindDb(db)
      .updateTable(this.table)
      .set({ deleted_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll()
      .$castTo<KindRow>()
      .executeTakeFirst();
  }

  private kindDb(db: Kysely<Database>): KindDb {
    return db.withTables<KindTables>();
  }
}
