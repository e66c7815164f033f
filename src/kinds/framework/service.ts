import { type LockObserver, lockForTransaction } from '../../db/advisory-lock.ts';
import type { Db, Tx } from '../../db/database.ts';
import { ApiError, notFound, validationFailed } from '../../errors/catalogue.ts';
import { type EventType, recordEvent } from '../../events/event-store.ts';
import type { Notify } from '../../events/notifier.ts';
import { KindDao, type ListResult, type ListSelection } from './dao.ts';
import { entityTag, ifMatchHolds } from './etag.ts';
import { isWriteOnly } from './fields.ts';
import { claimKey, fingerprint, type IdempotencyKey, rememberResponse, replay } from './idempotency.ts';
import type { FieldValues, KindDefinition, KindRow } from './kind.ts';
import type { Referrer } from './relations.ts';
import type { KindRules } from './rules.ts';

// What a service needs from the composition root. Time and ids come in as functions tests can control.
export interface ServiceDependencies {
  readonly db: Db;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly notify: Notify;
  readonly locks: LockObserver;
}

// Preconditions of a write (SPEC §2.3).
export interface Condition {
  readonly ifMatch?: string;
}

// The business rules every Kind shares: one transaction per write, the row change and its event
// committed together, writers to one row serialised by an advisory lock, a notification after commit.
export class KindService {
  constructor(
    readonly kind: KindDefinition,
    private readonly dao: KindDao,
    private readonly deps: ServiceDependencies,
    private readonly referrers: readonly Referrer[] = [],
    private readonly rules?: KindRules,
  ) {}

  async get(id: string): Promise<KindRow> {
    return (this.possibleId(id) && (await this.dao.find(this.deps.db, id))) || this.notFound(id);
  }

  // The row even when it has been deleted since (its `deleted_at` set): controllers reacting to an
  // older event of a row that is gone use it. Never-existing ids are still not found.
  async getIncludingDeleted(id: string): Promise<KindRow> {
    return (this.possibleId(id) && (await this.dao.find(this.deps.db, id, true))) || this.notFound(id);
  }

  async list(selection: ListSelection): Promise<ListResult> {
    return await this.dao.list(this.deps.db, selection);
  }

  // With an idempotency key, a retry of the same create returns the first create's row and writes
  // nothing; the key is claimed in the create's own transaction.
  async create(values: FieldValues, idempotency?: IdempotencyKey): Promise<KindRow> {
    const now = this.deps.clock();
    const id = this.deps.newId();
    const print = fingerprint(values);
    await this.rules?.check(values, Object.keys(values));
    return await this.write(id, 'Create', async (trx) => {
      if (idempotency && !(await claimKey(trx, idempotency, print))) {
        return { row: await replay(trx, idempotency, this.kind.plural, print), written: false };
      }
      await this.checkReferences(trx, values);
      const row = await this.dao.insert(trx, {
        ...values,
        id,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      });
      if (idempotency) await rememberResponse(trx, idempotency, this.kind.plural, id);
      return { row, written: true };
    });
  }

  // Merge-patch: only the given fields change. A patch that changes nothing writes nothing.
  async patch(id: string, changes: FieldValues, condition: Condition = {}): Promise<KindRow> {
    return await this.write(id, 'Update', async (trx) => {
      const current = await this.lockedCurrent(trx, id, condition);
      if (!this.changes(current, changes)) return { row: current, written: false };
      await this.checkReferences(trx, changes);
      await this.rules?.check({ ...current, ...changes }, Object.keys(changes));
      const row = await this.dao.update(trx, id, { ...changes, updated_at: this.deps.clock() });
      return { row, written: true };
    });
  }

  async delete(id: string, condition: Condition = {}): Promise<void> {
    await this.write(id, 'Delete', async (trx) => {
      await this.lockedCurrent(trx, id, condition);
      const row = (await this.dao.softDelete(trx, id, this.deps.clock())) ?? this.notFound(id);
      // After the row is marked deleted (so its lock is held): a reference written concurrently has
      // either committed and is counted here, or waits on that lock and then finds the row gone.
      await this.refuseIfReferenced(trx, id);
      return { row, written: true };
    });
  }

  // The live row, read under its advisory lock so no other writer changes it before this transaction
  // ends; the If-Match condition is checked against exactly that row.
  private async lockedCurrent(trx: Tx, id: string, condition: Condition): Promise<KindRow> {
    if (!this.possibleId(id)) this.notFound(id);
    await lockForTransaction(trx, this.kind.plural, id, this.deps.locks);
    const current = (await this.dao.find(trx, id)) ?? this.notFound(id);
    if (condition.ifMatch !== undefined && !ifMatchHolds(condition.ifMatch, entityTag(current))) {
      throw new ApiError(
        'PreconditionFailed',
        `${this.kind.name} with id='${id}' has changed: its ETag does not match If-Match`,
      );
    }
    return current;
  }

  // Runs `change` and, when it wrote, records its event in the same transaction and notifies after
  // commit. A change that wrote nothing records no event.
  private async write(
    id: string,
    eventType: EventType,
    change: (trx: Tx) => Promise<{ row: KindRow; written: boolean }>,
  ): Promise<KindRow> {
    const eventId = this.deps.newId();
    const { row, written } = await this.deps.db.transaction().execute(async (trx) => {
      const result = await change(trx);
      if (result.written) {
        await recordEvent(trx, eventId, this.deps.clock(), {
          source: this.kind.eventSource,
          sourceId: id,
          eventType,
          object: this.eventObject(result.row),
        });
      }
      return result;
    });
    if (written) this.deps.notify(eventId);
    return row;
  }

  // Every reference being written names a live row, which stays live until this transaction ends.
  private async checkReferences(trx: Tx, values: FieldValues): Promise<void> {
    for (const [name, field] of Object.entries(this.kind.fields)) {
      const id = values[name];
      if (field.type !== 'ref' || typeof id !== 'string') continue;
      const target = field.target();
      if (!(this.possibleId(id) && (await new KindDao(target).lockLive(trx, id)))) {
        throw validationFailed(
          `${name} must reference an existing ${target.name}: no ${target.name} with id='${id}'`,
        );
      }
    }
  }

  // The delete rule `restrict`: a row that live rows still reference is not deleted.
  private async refuseIfReferenced(trx: Tx, id: string): Promise<void> {
    for (const { kind, field } of this.referrers) {
      const count = await new KindDao(kind).countReferencing(trx, field, id);
      if (count > 0) {
        throw new ApiError(
          'Conflict',
          `${this.kind.name} with id='${id}' is referenced by ${count} ${kind.name} resource${count === 1 ? '' : 's'} (${field}): delete or change ${count === 1 ? 'it' : 'them'} first`,
        );
      }
    }
  }

  // What an event keeps of a row: everything but write-only fields (secrets stay in their own table).
  private eventObject(row: KindRow): Record<string, unknown> {
    return Object.fromEntries(Object.entries(row).filter(([name]) => !isWriteOnly(this.kind.fields[name])));
  }

  private changes(current: KindRow, changes: FieldValues): boolean {
    return Object.entries(changes).some(([name, value]) => !sameValue(current[name], value));
  }

  // PostgreSQL text cannot hold NUL: such an id names nothing, and must not reach SQL.
  private possibleId(id: string): boolean {
    return !id.includes('\u0000');
  }

  private notFound(id: string): never {
    throw notFound(`${this.kind.name} with id='${id}' not found`);
  }
}

function sameValue(stored: unknown, given: unknown): boolean {
  if (stored instanceof Date && given instanceof Date) return stored.getTime() === given.getTime();
  if (typeof stored === 'string' && typeof given === 'number') return Number(stored) === given; // bigint
  return stored === given;
}
