import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../db/migrator.ts';

// The audit trail: who caused each event and through which request. Events written before this
// migration (and by rh-trex-style writers that set neither) keep nulls.
export const addEventAudit: NamedMigration = {
  id: '202611251700_add_event_audit',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table events add column actor text, add column operation_id text`.execute(db);
    await sql`create index events_actor on events (actor, created_at)`.execute(db);
    await sql`create index events_operation_id on events (operation_id)`.execute(db);
  },
};
