import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../db/migrator.ts';

// The events list at millions of rows (docs/performance.md#big-tables): its default order (and
// `orderBy=created_at desc`), a resource's history (`search=source_id = '<id>'`, in order), and what was
// given up (`search=failed_at is not null`, few rows: a small partial index) each read one index range.
export const addEventListIndexes: NamedMigration = {
  id: '202612062000_add_event_list_indexes',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index events_live_order on events (created_at, id) where deleted_at is null`.execute(db);
    await sql`create index events_by_resource on events (source_id, created_at, id)
      where deleted_at is null`.execute(db);
    await sql`create index events_given_up on events (created_at, id)
      where failed_at is not null and deleted_at is null`.execute(db);
  },
};
