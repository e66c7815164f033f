import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Tx } from '../../db/database.ts';
import { ApiError } from '../../errors/catalogue.ts';
import type { FieldValues, KindRow } from './kind.ts';

/** An Idempotency-Key sent with a create, scoped to the Kind and the caller. */
export interface IdempotencyKey {
  /** The Kind's plural and the caller's username (`dinosaurs:alice`): callers never share a key. */
  readonly scope: string;
  /** The header's value: 1 to 255 visible ASCII characters. */
  readonly key: string;
}

/** What makes two creates "the same request": their validated field values (a SHA-256, base64url). */
export function fingerprint(values: FieldValues): string {
  const canonical = JSON.stringify(Object.entries(values).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Claims the key for this transaction; false when an earlier request has it (then replay answers). When
 * another request holds it, PostgreSQL makes this insert wait until that request commits or rolls back,
 * so concurrent retries with one key create one row.
 */
export async function claimKey(trx: Tx, idempotency: IdempotencyKey, print: string): Promise<boolean> {
  const claimed = await trx
    .insertInto('idempotency_keys')
    .values({ scope: idempotency.scope, key: idempotency.key, fingerprint: print, response: null })
    .onConflict((conflict) => conflict.columns(['scope', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return claimed !== undefined;
}

/** Keeps the created row, as this transaction wrote it, with the key, for replay to give a retry. */
export async function rememberResponse(
  trx: Tx,
  idempotency: IdempotencyKey,
  table: string,
  id: string,
): Promise<void> {
  await sql`
    update idempotency_keys set response = (select to_jsonb(t) from ${sql.table(table)} t where t.id = ${id})
    where scope = ${idempotency.scope} and key = ${idempotency.key}`.execute(trx);
}

/** The row the first request created, exactly as it was then; 409 when the key came with another body. */
export async function replay(
  trx: Tx,
  idempotency: IdempotencyKey,
  table: string,
  print: string,
): Promise<KindRow> {
  const { rows } = await sql<KindRow & { fingerprint: string }>`
    select k.fingerprint, r.* from idempotency_keys k,
      jsonb_populate_record(null::${sql.table(table)}, k.response) r
    where k.scope = ${idempotency.scope} and k.key = ${idempotency.key}`.execute(trx);
  const prior = rows[0];
  if (!prior) throw new ApiError('Conflict', 'Idempotency-Key is in use by a request that has not finished');
  if (prior.fingerprint !== print) {
    throw new ApiError('Conflict', 'Idempotency-Key was already used with a different request body');
  }
  const { fingerprint: _, ...row } = prior;
  return row as KindRow;
}

/** Deletes keys claimed over `olderThanHours` hours ago (a retry then creates anew); returns how many. */
export async function forgetOldKeys(db: Db, olderThanHours: number): Promise<number> {
  const result =
    await sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${olderThanHours})`.execute(
      db,
    );
  return Number(result.numAffectedRows ?? 0);
}
