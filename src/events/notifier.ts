import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';

export type Notify = (eventId: string) => void;

// Wakes listeners after a write committed, outside its transaction (NOTIFY takes a global lock at
// commit, so notifying inside writes would serialise them). Bursts coalesce: while one NOTIFY is in
// flight, later ones collapse into a single follow-up carrying the newest event id. Listeners never
// trust the payload (they drain the events table), and a lost NOTIFY is caught by their resync, so a
// failure is logged and never fails the request that caused it.
export function createNotifier(db: Db, logger: Logger): Notify {
  let inFlight = false;
  let pending: string | undefined;
  const flush = async (): Promise<void> => {
    inFlight = true;
    while (pending !== undefined) {
      const eventId = pending;
      pending = undefined;
      await sql`select pg_notify('events', ${eventId})`
        .execute(db)
        .catch((error: unknown) => logger.warn({ err: error, eventId }, 'pg_notify failed'));
    }
    inFlight = false;
  };
  return (eventId) => {
    pending = eventId;
    if (!inFlight) void flush();
  };
}

// For services run without notifications: controllers then rely on their resync interval alone.
export const noNotify: Notify = () => {};
