import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

// Webhooks, their deliveries, and which events have been fanned out to deliveries.
export const createWebhooks: NamedMigration = {
  id: '202611251701_create_webhooks',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table webhooks (
        id text primary key,
        name text not null,
        url text not null,
        sources text,
        event_types text,
        search text,
        secret text not null,
        enabled boolean not null,
        created_at timestamptz(3) not null,
        updated_at timestamptz(3) not null,
        deleted_at timestamptz(3)
      )`.execute(db);
    await sql`create index webhooks_live_order on webhooks (created_at, id) where deleted_at is null`.execute(
      db,
    );
    // One row per (webhook, event). The payload is fixed when the delivery is made, so every attempt
    // sends the same bytes with the same signature. deleted_at is never set: deliveries are a log.
    await sql`
      create table webhook_deliveries (
        id text primary key,
        webhook_id text not null references webhooks (id),
        event_id text not null references events (id),
        event_seq bigint not null,
        source text not null,
        source_id text not null,
        event_type text not null,
        payload text not null,
        status text not null default 'pending',
        attempts integer not null default 0,
        response_code integer,
        last_error text,
        next_attempt_at timestamptz(3),
        delivered_at timestamptz(3),
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now(),
        deleted_at timestamptz(3),
        unique (webhook_id, event_id)
      )`.execute(db);
    // Due deliveries in due order, and the earlier deliveries of one resource a delivery waits for.
    await sql`create index webhook_deliveries_due on webhook_deliveries
      ((coalesce(next_attempt_at, created_at)), id) where status = 'pending'`.execute(db);
    await sql`create index webhook_deliveries_queue on webhook_deliveries
      (webhook_id, source, source_id, event_seq) where status = 'pending'`.execute(db);
    await sql`create index webhook_deliveries_list on webhook_deliveries (webhook_id, created_at, id)`.execute(
      db,
    );
    // Events already fanned out: a delivery waits for every earlier event of its resource to be here,
    // so events handled in parallel still reach a receiver in order.
    await sql`
      create table webhook_fanouts (
        event_id text primary key references events (id),
        created_at timestamptz(3) not null default now()
      )`.execute(db);
  },
};
