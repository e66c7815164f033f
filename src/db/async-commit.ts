import { sql } from 'kysely';

// A one-row table to join into a statement run outside a transaction, so that its own transaction
// commits without waiting for the WAL to reach the disk. It is for bookkeeping whose loss in a
// PostgreSQL crash only repeats work (a claim or an outcome of the event pipeline: the event is handled
// again, which handlers already allow): that wait, one per statement, limited the pipeline where
// fsync is slow. Scoped to the transaction, so it leaves nothing behind on a pooled server connection.
export const asyncCommit = sql`(select set_config('synchronous_commit', 'off', true)) as async_commit`;
