import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../db/migrator.ts';

// The tenant of the row an event is about (null for a Kind that is not tenant-scoped), so the events API,
// watch streams and webhooks keep each tenant's events to itself.
export const addEventTenant: NamedMigration = {
  id: '202612061859_add_event_tenant',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table events add column tenant_id text`.execute(db);
    await sql`create index events_tenant_order on events (tenant_id, created_at, id)`.execute(db);
  },
};
