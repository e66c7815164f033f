import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../db/migrator.ts';

// rh-trex's events columns, plus what retries need. The retry columns have defaults, so a row written
// with only rh-trex's columns is valid.
export const createEvents: NamedMigration = {
  id: '202611251400_create_events',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table events (
        id text primary key,
        source text not null,
        source_id text not null,
        event_type text not null,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now(),
        deleted_at timestamptz(3),
        reconciled_date timestamptz(3),
        attempts integer not null default 0,
        last_error text,
        next_attempt_at timestamptz(3),
        failed_at timestamptz(3),
        -- The resource as the change left it; null for events written without one (rh-trex's columns only).
        object jsonb,
        -- The writing transaction and the insert order: watch streams deliver events in (txid, seq)
        -- order once every older transaction has ended, so a resumed stream has no gap and no duplicate.
        txid xid8 not null default pg_current_xact_id(),
        seq bigint generated always as identity
      )`.execute(db);
    await sql`create index events_stream on events (source, txid, seq)`.execute(db);
    // Due events, in the order the controllers take them (event-queue.ts); and the oldest waiting one.
    await sql`create index events_due on events ((coalesce(next_attempt_at, created_at)), id)
      where reconciled_date is null and failed_at is null`.execute(db);
    await sql`create index events_unreconciled on events (created_at)
      where reconciled_date is null and failed_at is null`.execute(db);
    await sql`create index events_source on events (source, source_id)`.execute(db);
  },
};
