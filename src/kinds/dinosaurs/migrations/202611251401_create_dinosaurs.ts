import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

export const createDinosaurs: NamedMigration = {
  id: '202611251401_create_dinosaurs',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table dinosaurs (
        id text primary key,
        species text not null,
        created_at timestamptz(3) not null,
        updated_at timestamptz(3) not null,
        deleted_at timestamptz(3)
      )`.execute(db);
    // A hash index: equality searches use it, and unlike a btree it takes values of any length.
    await sql`create index dinosaurs_species on dinosaurs using hash (species)`.execute(db);
    // Lists page through live rows in (created_at, id) order.
    await sql`create index dinosaurs_live_order on dinosaurs (created_at, id) where deleted_at is null`.execute(
      db,
    );
  },
};
