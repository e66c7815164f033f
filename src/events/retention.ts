import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { prune } from '../db/prune.ts';

/**
 * Deletes events handled or given up longer ago than `retentionMs` (docs/events.md#retention), never
 * one still waiting for its handlers, and never one a row of another table still references (a webhook
 * delivery not yet pruned): the references are read from the catalogue, so this module names no table
 * but its own. References that cascade (a webhook fan-out mark) go with their event.
 */
export async function pruneEvents(db: Db, retentionMs: number, budgetMs: number): Promise<number> {
  const { rows: references } = await sql<{ table: string; column: string }>`
    select c.conrelid::regclass::text as table, a.attname as column
    from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'events'::regclass and c.confdeltype <> 'c'`.execute(db);
  // regclass text is the table's name as SQL takes it (quoted where it must be).
  const unreferenced = references.map(
    ({ table, column }) =>
      sql`and not exists (select 1 from ${sql.raw(table)} r where r.${sql.ref(column)} = e.id)`,
  );
  // Oldest first, through the list's index (events_live_order): a pass with nothing old reads one entry.
  return await prune(db, {
    name: 'events',
    batchSize: 1000,
    budgetMs,
    batch: (limit) => sql`
      delete from events where id in (
        select id from events e
        where e.deleted_at is null and e.created_at < now() - ${retentionMs} * interval '1 millisecond'
          and (e.reconciled_date is not null or e.failed_at is not null) ${sql.join(unreferenced, sql` `)}
        order by e.created_at limit ${limit} for update skip locked)
      returning 1`,
  });
}
