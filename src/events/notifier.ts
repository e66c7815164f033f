import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';

export type Notify = (eventId: string) => void;

// Wakes listeners after a write committed. NOTIFY is only a nudge: a lost one is caught by the
// controller manager's rescan, so a failure is logged and never fails the request that caused it.
export function createNotifier(db: Db, logger: Logger): Notify {
  return (eventId) => {
    sql`select pg_notify('events', ${eventId})`
      .execute(db)
      .catch((error: unknown) => logger.warn({ err: error, eventId }, 'pg_notify failed'));
  };
}
