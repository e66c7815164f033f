import { type Kysely, sql } from 'kysely';
import type { NamedMigration } from '../../db/migrator.ts';

// Claims as leases on the row: which process holds an event and until when. Nothing depends on a
// database session outliving a statement, so the pipeline works through a transaction pooler, and a
// claim whose holder died lapses at its expiry for another replica to take.
export const addEventClaims: NamedMigration = {
  id: '202612061500_add_event_claims',
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table events add column claimed_by text, add column claim_expires_at timestamptz(3)`.execute(
      db,
    );
    // Per-resource order: an event is handed out only when no earlier event of its resource is unfinished.
    await sql`create index events_unfinished_by_resource on events (source, source_id, seq)
      where reconciled_date is null and failed_at is null`.execute(db);
  },
};
