import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// A second secret during a rollover: deliveries are signed with both until it is cleared.
export const addPreviousSecret: NamedMigration = {
  id: '202612061910_add_previous_secret',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhooks add column previous_secret text`.execute(db);
  },
};
