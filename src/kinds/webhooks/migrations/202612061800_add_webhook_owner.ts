import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// The claims of whoever last wrote a webhook: each event is fanned out to it only while the
// authorization policy lets that owner list the event's Kind. Null for webhooks written with
// authentication off or before this migration: the policy's rules for every caller apply to them.
export const addWebhookOwner: NamedMigration = {
  id: '202612061800_add_webhook_owner',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhooks add column owner_claims jsonb`.execute(db);
  },
};
