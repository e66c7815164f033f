import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Claims on deliveries as leases on the row, as on events (events/migrations/202612061500_add_event_claims.ts).
export const addDeliveryClaims: NamedMigration = {
  id: '202612061501_add_delivery_claims',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhook_deliveries add column claimed_by text,
      add column claim_expires_at timestamptz(3)`.execute(db);
  },
};
