import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { SecretKeys } from './secret-keys.ts';

const batchSize = 500;

/**
 * Seals every webhook secret (deleted webhooks' too: a dump holds them as well) with the current key:
 * those sealed with an older key of the file, and those written before secrets were sealed. In batches
 * of one short statement each, so it runs beside a serving service; returns how many webhooks changed.
 * Throws a SecretKeyError, having changed nothing more, at a secret no key of the file opens.
 */
export async function resealWebhookSecrets(db: Db, keys: SecretKeys): Promise<number> {
  const current = `sealed:v1:${keys.current}:%`;
  let resealed = 0;
  for (;;) {
    const { rows } = await sql<{ id: string; secret: string; previous_secret: string | null }>`
      select id, secret, previous_secret from webhooks
      where secret not like ${current} or previous_secret not like ${current}
      order by id limit ${batchSize}`.execute(db);
    if (rows.length === 0) return resealed;
    const reseal = (stored: string | null): string | null =>
      stored === null || keys.sealedWithCurrent(stored) ? stored : keys.seal(keys.open(stored));
    const sealed = rows.map((row) => ({
      ...row,
      secret: reseal(row.secret),
      previous: reseal(row.previous_secret),
    }));
    // Only where the row still holds what was read: a webhook written meanwhile was sealed by its writer.
    const result = await sql`
      update webhooks w set secret = s.secret, previous_secret = s.previous
      from unnest(${sealed.map((row) => row.id)}::text[], ${sealed.map((row) => row.secret)}::text[],
          ${sealed.map((row) => row.previous)}::text[], ${rows.map((row) => row.secret)}::text[],
          ${rows.map((row) => row.previous_secret)}::text[])
        as s(id, secret, previous, old_secret, old_previous)
      where w.id = s.id and w.secret = s.old_secret
        and w.previous_secret is not distinct from s.old_previous`.execute(db);
    resealed += Number(result.numAffectedRows ?? 0);
  }
}
