import { type LockObserver, lockForTransaction } from '../../db/advisory-lock.ts';
import type { Db, Tx } from '../../db/database.ts';
import { ApiError, notFound, validationFailed } from '../../errors/catalogue.ts';
import type { ChangeEvent, EventType } from '../../events/event-store.ts';
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

// Preconditions of a write (docs/events.md#optimistic-concurrency).
export interface Condition {
  readonly ifMatch?: string;
}

// The business rules every Kind shares: the row change and its event committed together (one
// statement, in a transaction when the write reads or locks anything first), writers to one row
// serialised by an advisory lock, a notification after commit.
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
    const row = { ...values, id, created_at: now, updated_at: now, deleted_at: null };
    // With no key to claim and no reference to check, the insert and its event are all there is: one
    // statement, no transaction.
    if (!idempotency && !this.writesReference(values)) {
      return await this.notifying('Create', async (event) => ({
        row: await this.dao.insert(this.deps.db, row, event),
        written: true,
      }));
    }
    return await this.write('Create', async (trx, event) => {
      if (idempotency && !(await claimKey(trx, idempotency, print))) {
        return { row: await replay(trx, idempotency, this.kind.plural, print), written: false };
      }
      await this.checkReferences(trx, values);
      const created = await this.dao.insert(trx, row, event);
      if (idempotency) await rememberResponse(trx, idempotency, this.kind.plural, id);
      return { row: created, written: true };
    });
  }

  // Merge-patch: only the given fields change. A patch that changes nothing writes nothing.
  async patch(id: string, changes: FieldValues, condition: Condition = {}): Promise<KindRow> {
    return await this.write('Update', async (trx, event) => {
      const current = await this.lockedCurrent(trx, id, condition);
      if (!this.changes(current, changes)) return { row: current, written: false };
      await this.checkReferences(trx, changes);
      await this.rules?.check({ ...current, ...changes }, Object.keys(changes));
      const timed = this.timedNow(event);
      const row = await this.dao.update(trx, id, { ...changes, updated_at: timed.at }, timed);
      return { row, written: true };
    });
  }

  async delete(id: string, condition: Condition = {}): Promise<void> {
    await this.write('Delete', async (trx, event) => {
      await this.lockedCurrent(trx, id, condition);
      const row = (await this.dao.softDelete(trx, id, this.timedNow(event))) ?? this.notFound(id);
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

  // Runs `change` in a transaction. The DAO's writes record `event` with their row.
  private async write(
    eventType: EventType,
    change: (trx: Tx, event: ChangeEvent) => Promise<{ row: KindRow; written: boolean }>,
  ): Promise<KindRow> {
    return await this.notifying(eventType, (event) =>
      this.deps.db.transaction().execute((trx) => change(trx, event)),
    );
  }

  // Runs `change` with the event its write records, and notifies once that committed. A change that
  // wrote nothing recorded no event.
  private async notifying(
    eventType: EventType,
    change: (event: ChangeEvent) => Promise<{ row: KindRow; written: boolean }>,
  ): Promise<KindRow> {
    const event: ChangeEvent = {
      id: this.deps.newId(),
      at: this.deps.clock(),
      source: this.kind.eventSource,
      eventType,
      hidden: this.hiddenFromEvents,
    };
    const { row, written } = await change(event);
    if (written) this.deps.notify(event.id);
    return row;
  }

  // The event timed now, once the row's lock is held: then updated_at and event times follow the order
  // in which writers got the lock, not the order in which they asked for it.
  private timedNow(event: ChangeEvent): ChangeEvent {
    return { ...event, at: this.deps.clock() };
  }

  private writesReference(values: FieldValues): boolean {
    return Object.entries(this.kind.fields).some(
      ([name, field]) => field.type === 'ref' && typeof values[name] === 'string',
    );
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

  // What an event leaves out of its row: write-only fields (secrets stay in their own table).
  private get hiddenFromEvents(): string[] {
    return Object.keys(this.kind.fields).filter((name) => isWriteOnly(this.kind.fields[name]));
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
