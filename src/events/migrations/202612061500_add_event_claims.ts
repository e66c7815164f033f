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
    // Room on each page, so that a claim (which changes no indexed column) is a HOT update: no index
    // entries written, only the row.
    await sql`alter table events set (fillfactor = 80)`.execute(db);
    // Unfinished events by creation time competed with the index below for the claim's per-resource
    // probe: with statistics from before a burst (every event finished), PostgreSQL scanned it whole for
    // each candidate, and a claim of 8 among 20,000 waiting took seconds instead of a fraction of a
    // millisecond. The oldest waiting event is found without it (a scan of the waiting ones).
    await sql`drop index events_unreconciled`.execute(db);
    // Per-resource order: an event is handed out only when no earlier event of its resource is unfinished.
    await sql`create index events_unfinished_by_resource on events (source, source_id, seq)
      where reconciled_date is null and failed_at is null`.execute(db);
  },
};
