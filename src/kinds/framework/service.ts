import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { callerMay, currentContext } from '../../context/request-context.ts';
import { type LockObserver, lockedFirst, lockForTransaction } from '../../db/advisory-lock.ts';
import type { Db, Tx } from '../../db/database.ts';
import { ApiError, notFound, validationFailed } from '../../errors/catalogue.ts';
import type { ChangeEvent, EventType } from '../../events/event-store.ts';
import type { Notify } from '../../events/notifier.ts';
import { KindDao, type ListResult, type ListSelection, type RowFilter } from './dao.ts';
import { entityTag, ifMatchHolds } from './etag.ts';
import { type Fields, isWriteOnly } from './fields.ts';
import { claimKey, fingerprint, type IdempotencyKey, rememberResponse, replay } from './idempotency.ts';
import type { CheckedValues, FieldValues, KindDefinition, KindRow } from './kind.ts';
import type { Referrer } from './relations.ts';
import type { KindRules } from './rules.ts';
import { allOf, type Scope } from './scope.ts';
import { keptTenant, tenantCondition, tenantOfNewRow } from './tenancy.ts';

/** What every Kind service needs from the composition root. Time and ids come in as functions tests can control. */
export interface ServiceDependencies {
  /** The main pool. */
  readonly db: Db;
  /** Now: the time of every write and of its event. */
  readonly clock: () => Date;
  /** A new id, for resources and events. */
  readonly newId: () => string;
  /** Called with an event's id once its write has committed, to wake controllers and watches. */
  readonly notify: Notify;
  /** Told how long each write waited for its row's advisory lock (metrics). */
  readonly locks: LockObserver;
  /** Lists count their total exactly up to this many rows, and take PostgreSQL's estimate beyond. */
  readonly exactCountLimit: number;
}

/** Preconditions of a write (docs/events.md#optimistic-concurrency). */
export interface Condition {
  /** An If-Match header: the write is refused (412) unless the resource's ETag matches. */
  readonly ifMatch?: string;
}

/** Columns a service sets on every create and update, each from a function of the request's context. */
export type Stamps = Readonly<Record<string, () => string | number | boolean | Date | null>>;

/**
 * How a write-only text field is stored (a secret, sealed): what its column holds for the value a write
 * gives, and whether a stored form holds a value (a patch giving the same secret again changes
 * nothing). The service never reads the column back as a value; its user (a webhook's dispatcher) does.
 */
export interface StoredForm {
  store(value: string): string;
  holds(stored: string, value: string): boolean;
}

/** The stored forms of a Kind's write-only fields, by field name. */
export type StoredForms = Readonly<Record<string, StoredForm>>;

/** What the composition root builds a Kind service from. */
export interface KindServiceParts<F extends Fields = Fields> {
  /** The Kind served. */
  readonly kind: KindDefinition<F>;
  /** What the service needs from the composition root. */
  readonly deps: ServiceDependencies;
  /** The fields of other Kinds that reference this one, for the delete rule. */
  readonly referrers?: readonly Referrer[];
  /** Rules beyond the field types, checked before every write that changes something. */
  readonly rules?: KindRules<F> | undefined;
  /** Columns set on every create and update from the request, never from a body (see KindExtensions). */
  readonly stamps?: Stamps | undefined;
  /** The rows the current caller may see, as a condition every read adds (see KindExtensions). */
  readonly scope?: Scope | undefined;
  /** How write-only fields are stored (see KindExtensions). */
  readonly storedForms?: StoredForms | undefined;
}

/**
 * The business rules every Kind shares: the row change and its event committed together (one
 * statement, in a transaction when the write reads or locks anything first), writers to one row
 * serialised by its lock, a notification after commit. Routes, controllers and background
 * work reach a Kind's rows only through it; `F` types its rows (`typeof myKind.fields`).
 */
export class KindService<F extends Fields = Fields> {
  /** The Kind this service serves. */
  readonly kind: KindDefinition<F>;
  private readonly dao: KindDao;
  private readonly deps: ServiceDependencies;
  private readonly referrers: readonly Referrer[];
  private readonly rules: KindRules<F> | undefined;
  private readonly stamps: Stamps;
  private readonly scope: Scope | undefined;
  private readonly storedForms: [string, StoredForm][];
  private readonly hiddenFromEvents: string[];

  /** The plain service; the composition root builds it with createKindService, which may trace it. */
  constructor(parts: KindServiceParts<F>) {
    this.kind = parts.kind;
    this.dao = new KindDao(parts.kind);
    this.deps = parts.deps;
    this.referrers = parts.referrers ?? [];
    this.rules = parts.rules;
    this.stamps = parts.stamps ?? {};
    const clash = Object.keys(this.stamps).find((column) => Object.hasOwn(parts.kind.fields, column));
    if (clash) throw new Error(`${parts.kind.name}.${clash}: a stamped column cannot also be a field`);
    this.scope = parts.scope;
    this.storedForms = Object.entries(parts.storedForms ?? {});
    const shown = this.storedForms.find(([name]) => {
      const field = parts.kind.fields[name];
      return field?.type !== 'string' || !isWriteOnly(field);
    });
    if (shown)
      throw new Error(`${parts.kind.name}.${shown[0]}: only a write-only text field has a stored form`);
    // What an event leaves out of its row: write-only fields (secrets stay in their own table) and
    // stamped columns, which are not the resource's.
    this.hiddenFromEvents = [...writeOnlyFields(parts.kind.fields), ...Object.keys(this.stamps)];
  }

  /** The live resource with this id; 404 (an ApiError) when there is none. */
  async get(id: string): Promise<KindRow<F>> {
    return (this.possibleId(id) && (await this.find(this.deps.db, id, false))) || this.notFound(id);
  }

  /**
   * The row even when it has been deleted since (its `deleted_at` set): controllers reacting to an
   * older event of a row that is gone use it. Never-existing ids are still not found.
   */
  async getIncludingDeleted(id: string): Promise<KindRow<F>> {
    return (this.possibleId(id) && (await this.find(this.deps.db, id, true))) || this.notFound(id);
  }

  /**
   * A page of live rows: a compiled search, an order, an offset and a limit, and the total, counted as
   * `selection.count` says (by default exactly up to `exactCountLimit` rows, estimated beyond).
   */
  async list(selection: ListSelection): Promise<ListResult<F>> {
    const scope = this.readScope();
    const where =
      scope && selection.where ? sql<SqlBool>`${scope} and (${selection.where})` : (scope ?? selection.where);
    return (await this.dao.list(this.deps.db, {
      ...selection,
      count: selection.count ?? { mode: 'capped', limit: this.deps.exactCountLimit },
      where,
      joinScope: tenantCondition,
    })) as ListResult<F>;
  }

  /**
   * Creates a resource and its Create event. With an idempotency key, a retry of the same create
   * returns the first create's row and writes nothing; the key is claimed in the create's own
   * transaction.
   */
  async create(values: FieldValues<F>, idempotency?: IdempotencyKey): Promise<KindRow<F>> {
    const now = this.deps.clock();
    const id = this.deps.newId();
    const print = fingerprint(values);
    const tenant = this.kind.tenantScoped ? tenantOfNewRow(this.kind) : undefined;
    await this.rules?.check(values as CheckedValues<F>, Object.keys(values));
    const row = {
      ...this.stored(values),
      ...this.stamped(),
      ...(tenant === undefined ? {} : { tenant_id: tenant }),
      id,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    // With no key to claim and no reference to check, the insert and its event are all there is: one
    // statement, no transaction.
    if (!idempotency && !this.writesReference(values)) {
      return await this.notifying<F>('Create', async (event) => ({
        row: await this.dao.insert(this.deps.db, row, event),
        written: true,
      }));
    }
    return await this.write<F>('Create', async (trx, event) => {
      if (idempotency && !(await claimKey(trx, idempotency, print))) {
        return { row: await replay(trx, idempotency, this.kind.plural, print), written: false };
      }
      await this.checkReferences(trx, values, tenant);
      const created = await this.dao.insert(trx, row, event);
      if (idempotency) await rememberResponse(trx, idempotency, this.kind.plural, id);
      return { row: created, written: true };
    });
  }

  /**
   * Merge-patch: only the given fields change, with an Update event. A patch that changes nothing
   * writes nothing. With `condition.ifMatch`, a resource whose ETag differs is not changed (412).
   */
  async patch(id: string, changes: FieldValues<F>, condition: Condition = {}): Promise<KindRow<F>> {
    if (!this.possibleId(id)) this.notFound(id);
    // What needs the row in hand before it is written (an ETag to compare, rules over the whole row, a
    // stored form's comparison, a reference to lock) takes the row's lock in a transaction; a plain
    // patch is one statement.
    const atOnce =
      condition.ifMatch === undefined &&
      !this.rules &&
      this.storedForms.length === 0 &&
      !this.writesReference(changes);
    return atOnce ? await this.patchAtOnce(id, changes) : await this.patchLocked(id, changes, condition);
  }

  // The update and its event in one statement: no round trip to lock, read or commit. It takes its turn
  // on the row's advisory lock before it reads the row, as the locked writers do, so one row's writes
  // commit, and stream, in the order of their transaction ids.
  private async patchAtOnce(id: string, changes: FieldValues<F>): Promise<KindRow<F>> {
    let madeAgain = false;
    const row = await this.notifying<F>('Update', async (event) => {
      const written = await this.dao.updateIfChanged(
        this.deps.db,
        id,
        changes,
        { ...this.stamped(), updated_at: event.at },
        event,
        lockedFirst(this.kind.plural, id),
        this.rowFilter(),
      );
      if (written) return { row: written, written: true };
      // Nothing written: there is no such row (404), or the statement's snapshot held the patch's
      // values already. A writer that committed while this one waited its turn may have changed them
      // since; then the patch is made again, with the row in hand.
      const current = (await this.find(this.deps.db, id, false)) ?? this.notFound(id);
      madeAgain = this.changes(current, changes);
      return { row: current, written: false };
    });
    return madeAgain ? await this.patchLocked(id, changes, {}) : row;
  }

  private async patchLocked(id: string, changes: FieldValues<F>, condition: Condition): Promise<KindRow<F>> {
    return await this.write<F>('Update', async (trx, event) => {
      const current = await this.lockedCurrent(trx, id, condition);
      if (!this.changes(current, changes)) return { row: current, written: false };
      await this.checkReferences(trx, changes, current.tenant_id as string | undefined);
      await this.rules?.check({ ...current, ...changes } as CheckedValues<F>, Object.keys(changes));
      const timed = this.timedNow(event);
      const row = await this.dao.update(
        trx,
        id,
        { ...this.stored(changes), ...this.stamped(), updated_at: timed.at },
        timed,
      );
      return { row, written: true };
    });
  }

  /** Soft-deletes a resource with a Delete event; refused (409) while live rows reference it. */
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

  // The live row, read under its advisory lock (writers that need the row in hand take turns on it)
  // and locked for update (so neither they nor a one-statement patch change it before this
  // transaction ends); the If-Match condition is checked against exactly that row.
  private async lockedCurrent(trx: Tx, id: string, condition: Condition): Promise<KindRow> {
    if (!this.possibleId(id)) this.notFound(id);
    await lockForTransaction(trx, this.kind.plural, id, this.deps.locks);
    const current =
      (await this.dao.find(trx, id, false, { ...this.rowFilter(), forUpdate: true })) ?? this.notFound(id);
    if (condition.ifMatch !== undefined && !ifMatchHolds(condition.ifMatch, entityTag(current))) {
      throw new ApiError(
        'PreconditionFailed',
        `${this.kind.name} with id='${id}' has changed: its ETag does not match If-Match`,
      );
    }
    return current;
  }

  // Runs `change` in a transaction. The DAO's writes record `event` with their row.
  private async write<R extends Fields = Fields>(
    eventType: EventType,
    change: (trx: Tx, event: ChangeEvent) => Promise<{ row: KindRow; written: boolean }>,
  ): Promise<KindRow<R>> {
    return await this.notifying<R>(eventType, (event) =>
      this.deps.db.transaction().execute((trx) => change(trx, event)),
    );
  }

  // Runs `change` with the event its write records, and notifies once that committed. A change that
  // wrote nothing recorded no event.
  private async notifying<R extends Fields = Fields>(
    eventType: EventType,
    change: (event: ChangeEvent) => Promise<{ row: KindRow; written: boolean }>,
  ): Promise<KindRow<R>> {
    const event: ChangeEvent = {
      id: this.deps.newId(),
      at: this.deps.clock(),
      source: this.kind.eventSource,
      eventType,
      hidden: this.hiddenFromEvents,
      tenanted: this.kind.tenantScoped,
    };
    const { row, written } = await change(event);
    if (written) this.deps.notify(event.id);
    return row as KindRow<R>;
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
  // A reference written to a tenant-scoped Kind names a row of the writing row's tenant (`rowTenant`), an
  // administrator's writes included, so no row ever links tenants.
  private async checkReferences(trx: Tx, values: FieldValues, rowTenant: string | undefined): Promise<void> {
    for (const [name, field] of Object.entries(this.kind.fields)) {
      const id = values[name];
      if (field.type !== 'ref' || typeof id !== 'string') continue;
      const target = field.target();
      // Whether a row exists is the target Kind's to tell: a caller who may not get it learns nothing.
      if (!callerMay(target.name, 'get')) {
        throw new ApiError(
          'Forbidden',
          `Account '${currentContext().actor}' may not get ${target.name}, which ${name} references`,
        );
      }
      const sameTenant =
        rowTenant !== undefined && target.tenantScoped && currentContext().caller?.tenancy
          ? sql<SqlBool>`${sql.ref(`${target.plural}.tenant_id`)} = ${rowTenant}`
          : tenantCondition(target, target.plural);
      if (!(this.possibleId(id) && (await new KindDao(target).lockLive(trx, id, sameTenant)))) {
        throw validationFailed(
          `${name} must reference an existing ${target.name}: no ${target.name} with id='${id}'`,
        );
      }
    }
  }

  // The delete rule `restrict`: a row that live rows still reference is not deleted.
  private async refuseIfReferenced(trx: Tx, id: string): Promise<void> {
    for (const { kind, field } of this.referrers) {
      const referring = new KindDao(kind);
      const count = await referring.countReferencing(trx, field, id);
      if (count > 0) {
        // How many is told only to a caller who may list the referring Kind, and who may see them all.
        const ownTenant = tenantCondition(kind, kind.plural);
        const visible = ownTenant ? await referring.countReferencing(trx, field, id, ownTenant) : count;
        const counted = callerMay(kind.name, 'list') && visible === count;
        const referrers = counted
          ? `${count} ${kind.name} resource${count === 1 ? '' : 's'}`
          : `${kind.name} resources`;
        throw new ApiError(
          'Conflict',
          `${this.kind.name} with id='${id}' is referenced by ${referrers} (${field}): delete or change ${counted && count === 1 ? 'it' : 'them'} first`,
        );
      }
    }
  }

  private changes(current: KindRow, changes: FieldValues): boolean {
    return Object.entries(changes).some(([name, value]) => {
      const form = this.storedForms.find(([field]) => field === name)?.[1];
      const stored = current[name];
      return form && typeof stored === 'string' && typeof value === 'string'
        ? !form.holds(stored, value)
        : !sameValue(stored, value);
    });
  }

  private async find(db: Db, id: string, includeDeleted: boolean): Promise<KindRow<F> | undefined> {
    return (await this.dao.find(db, id, includeDeleted, this.rowFilter())) as KindRow<F> | undefined;
  }

  // What every read and write of the Kind's rows adds for the current caller: its tenant, and the
  // plugin's scope. Undefined when the caller may reach every row.
  private readScope(): RawBuilder<SqlBool> | undefined {
    return allOf([tenantCondition(this.kind, this.kind.plural), this.scope?.()]);
  }

  // The same for a read by id, whose statement the DAO keeps prepared for the tenant alone.
  private rowFilter(): RowFilter {
    return { tenant: keptTenant(this.kind), scope: this.scope?.() };
  }

  // The values as their columns hold them: write-only fields in their stored forms.
  private stored(values: FieldValues): FieldValues {
    if (this.storedForms.length === 0) return values;
    const stored: FieldValues = { ...values };
    for (const [name, form] of this.storedForms) {
      const value = values[name];
      if (typeof value === 'string') stored[name] = form.store(value);
    }
    return stored;
  }

  private stamped(): FieldValues {
    return Object.fromEntries(Object.entries(this.stamps).map(([column, value]) => [column, value()]));
  }

  // PostgreSQL text cannot hold NUL: such an id names nothing, and must not reach SQL.
  private possibleId(id: string): boolean {
    return !id.includes('\u0000');
  }

  private notFound(id: string): never {
    throw notFound(`${this.kind.name} with id='${id}' not found`);
  }
}

function writeOnlyFields(fields: Fields): string[] {
  return Object.keys(fields).filter((name) => isWriteOnly(fields[name]));
}

function sameValue(stored: unknown, given: unknown): boolean {
  if (stored instanceof Date && given instanceof Date) return stored.getTime() === given.getTime();
  if (typeof stored === 'string' && typeof given === 'number') return Number(stored) === given; // bigint
  return stored === given;
}
