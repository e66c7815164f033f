import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Dinosaurs belong to tenants (docs/auth.md#tenants): the tenant column, and the index a tenant's lists use.
export const addDinosaurTenant: NamedMigration = {
  id: '202612061900_add_dinosaur_tenant',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table dinosaurs add column tenant_id text not null default ''`.execute(db);
    await sql`create index dinosaurs_tenant_live_order on dinosaurs (tenant_id, created_at, id)
      where deleted_at is null`.execute(db);
    // Their events so far belong to no tenant (''), as the rows do, until a migration of yours fills both.
    await sql`update events set tenant_id = '' where source = 'Dinosaurs' and tenant_id is null`.execute(db);
  },
};
