import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../migrator.ts';

// One row per kind of background upkeep (db/prune.ts): a replica doing it holds the row's lock for its
// transaction, and the others skip their turn. A row lock, not an advisory lock: nothing outlives the
// transaction, through a transaction pooler too.
export const createMaintenanceLocks: NamedMigration = {
  id: '202612062020_create_maintenance_locks',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create table maintenance_locks (name text primary key)`.execute(db);
  },
};
