import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../../db/migrator.ts';

/**
 * Idempotency-Key of creates (docs/events.md#idempotent-creates): the first response's row is kept with
 * the key, so a retry gets exactly what the first request got.
 */
export const createIdempotencyKeys: NamedMigration = {
  id: '202611251402_create_idempotency_keys',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table idempotency_keys (
        scope text not null,
        key text not null,
        fingerprint text not null,
        response jsonb, -- set in the same transaction as the claim, so no one sees it empty
        created_at timestamptz(3) not null default now(),
        primary key (scope, key)
      )`.execute(db);
    await sql`create index idempotency_keys_age on idempotency_keys (created_at)`.execute(db);
  },
};
