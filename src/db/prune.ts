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
 * takes a transaction-level advisory lock named after the work (so it holds through a transaction
 * pooler) and deletes nothing when another replica has it. Goes on while batches come back full, within
 * the budget; returns how many rows it deleted.
 */
export async function prune(db: Db, pruning: Pruning): Promise<number> {
  const started = Date.now();
  let deleted = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ held: boolean }>`
        select pg_try_advisory_xact_lock(hashtext(${`trex prune ${pruning.name}`})) as held`.execute(trx);
      if (!rows[0]?.held) return undefined;
      return (await pruning.batch(pruning.batchSize).execute(trx)).rows.length;
    });
    if (batch === undefined) return deleted; // another replica is at it
    deleted += batch;
    if (batch < pruning.batchSize || Date.now() - started > pruning.budgetMs) return deleted;
  }
}
