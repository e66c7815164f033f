import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Webhooks belong to tenants (docs/auth.md#tenants), and receive only their tenant's events.
export const addWebhookTenant: NamedMigration = {
  id: '202612061902_add_webhook_tenant',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhooks add column tenant_id text not null default ''`.execute(db);
    await sql`create index webhooks_tenant_live_order on webhooks (tenant_id, created_at, id)
      where deleted_at is null`.execute(db);
    // Their events so far belong to no tenant (''), as the rows do, until a migration of yours fills both.
    await sql`update events set tenant_id = '' where source = 'Webhooks' and tenant_id is null`.execute(db);
  },
};
