import type { Generated, Kysely, Transaction } from 'kysely';

// The tables every TRex service has. Kind tables are typed by the Kind framework (kinds/framework/dao.ts).
export interface EventTable {
  id: string;
  source: string;
  source_id: string;
  event_type: string;
  created_at: Date;
  updated_at: Date;
  reconciled_date: Date | null;
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: Date | null;
  failed_at: Date | null;
  object: string | null; // jsonb, sent as JSON text
  actor: string | null;
  operation_id: string | null;
  txid: Generated<string>;
  seq: Generated<string>;
}

export interface IdempotencyKeyTable {
  scope: string;
  key: string;
  fingerprint: string;
  response: unknown; // the created row, as jsonb
  created_at: Generated<Date>;
}

export interface Database {
  events: EventTable;
  idempotency_keys: IdempotencyKeyTable;
}

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
