import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { KindDefinition, KindRow } from './kind.ts';

// Every Kind table, seen by the generic DAO. Column names are the Kind's JSON field names.
type KindTables = Record<string, KindRow>;
type KindDb = Kysely<Database & KindTables>;

export interface Page {
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

  async find(db: Kysely<Database>, id: string): Promise<KindRow | undefined> {
    return await this.kindDb(db)
      .selectFrom(this.table)
      .selectAll()
      .$castTo<KindRow>()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  async list(db: Kysely<Database>, page: Page): Promise<ListResult> {
    const live = this.kindDb(db).selectFrom(this.table).where('deleted_at', 'is', null);
    const { total } = await live.select(sql<string>`count(*)`.as('total')).executeTakeFirstOrThrow();
    const rows =
      page.limit === 0
        ? []
        : await live
            .selectAll()
            .$castTo<KindRow>()
            .orderBy('created_at', 'asc')
            .orderBy('id', 'asc')
            .limit(page.limit)
            .offset(page.offset)
            .execute();
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
