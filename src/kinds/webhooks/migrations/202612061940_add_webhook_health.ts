import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// A webhook's health, which the dispatcher keeps (dispatcher.ts): its circuit breaker's state, shown on
// the resource, and when a parked webhook may next be tried (parked_until, the dispatcher's own).
export const addWebhookHealth: NamedMigration = {
  id: '202612061940_add_webhook_health',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table webhooks
      add column status text not null default 'active' check (status in ('active', 'failing', 'parked')),
      add column consecutive_failures integer not null default 0,
      add column last_success_at timestamptz(3),
      add column last_failure_at timestamptz(3),
      add column parked_until timestamptz(3)`.execute(db);
  },
};
