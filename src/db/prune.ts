import { type RawBuilder, sql } from 'kysely';
import type { Db } from './database.ts';

/** How `prune` deletes: which work it is, and how much at a time. */
export interface Pruning {
  /** Names the work: replicas pruning under the same name take turns. */
  readonly name: string;
  /** A delete of at most `limit` rows, ending in `returning 1`. */
  readonly batch: (limit: number) => RawBuilder<unknown>;
  /** Rows one statement deletes at most: short transactions, short locks. */
  readonly batchSize: number;
  /** How long one call may go on deleting full batches, in milliseconds. */
  readonly budgetMs: number;
}

/**
 * Deletes old rows in small batches, on one replica at a time: each batch is a transaction that first
 * locks the work's row of `maintenance_locks` (skipping it when another replica holds it, and then
 * deleting nothing). Goes on while batches come back full, within the budget; returns how many rows it
 * deleted.
 */
export async function prune(db: Db, pruning: Pruning): Promise<number> {
  await sql`insert into maintenance_locks (name) values (${pruning.name}) on conflict do nothing`.execute(db);
  const started = Date.now();
  let deleted = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const { rows } = await sql`
        select 1 from maintenance_locks where name = ${pruning.name} for update skip locked`.execute(trx);
      if (rows.length === 0) return undefined;
      return (await pruning.batch(pruning.batchSize).execute(trx)).rows.length;
    });
    if (batch === undefined) return deleted; // another replica is at it
    deleted += batch;
    if (batch < pruning.batchSize || Date.now() - started >= pruning.budgetMs) return deleted;
  }
}
