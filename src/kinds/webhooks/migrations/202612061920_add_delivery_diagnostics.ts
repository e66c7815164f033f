import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// What a delivery's last attempt came to, beyond its status code: when it was made, how long it took,
// and the start of the receiver's answer.
export const addDeliveryDiagnostics: NamedMigration = {
  id: '202612061920_add_delivery_diagnostics',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhook_deliveries add column last_attempt_at timestamptz(3),
      add column last_duration_ms integer, add column response_excerpt text`.execute(db);
  },
};
