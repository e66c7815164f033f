import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Deliveries made by hand: a redelivery (the same payload again, `redelivery_of` the original) and a ping
// (a test message, of no event). An event is still fanned out to a webhook once.
export const addRedeliveries: NamedMigration = {
  id: '202612061930_add_redeliveries',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhook_deliveries add column redelivery_of text references webhook_deliveries (id),
      alter column event_id drop not null`.execute(db);
    await sql`alter table webhook_deliveries drop constraint webhook_deliveries_webhook_id_event_id_key`.execute(
      db,
    );
    await sql`create unique index webhook_deliveries_once on webhook_deliveries (webhook_id, event_id)
      where redelivery_of is null`.execute(db);
  },
};
