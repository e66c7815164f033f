import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Retention (docs/events.md#retention). A fan-out mark says an event was fanned out: once the event is
// deleted the mark means nothing, and goes with it. Finished deliveries are pruned oldest first, and one
// a redelivery names is kept: both lookups get an index.
export const addDeliveryRetention: NamedMigration = {
  id: '202612062010_add_delivery_retention',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhook_fanouts drop constraint webhook_fanouts_event_id_fkey,
      add constraint webhook_fanouts_event_id_fkey foreign key (event_id) references events (id)
        on delete cascade`.execute(db);
    await sql`create index webhook_deliveries_finished on webhook_deliveries (updated_at)
      where status <> 'pending'`.execute(db);
    await sql`create index webhook_deliveries_redelivery_of on webhook_deliveries (redelivery_of)
      where redelivery_of is not null`.execute(db);
  },
};
