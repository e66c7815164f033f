import { type LockObserver, lockForTransaction } from '../../db/advisory-lock.ts';
import type { Db, Tx } from '../../db/database.ts';
import { notFound } from '../../errors/catalogue.ts';
import { type EventType, recordEvent } from '../../events/event-store.ts';
import type { Notify } from '../../events/notifier.ts';
import type { KindDao, ListResult, ListSelection } from './dao.ts';
import type { FieldValues, KindDefinition, KindRow } from './kind.ts';

// What a service needs from the composition root. Time and ids come in as functions tests can control.
export interface ServiceDependencies {
  readonly db: Db;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly notify: Notify;
  readonly locks: LockObserver;
}

// The business rules every Kind shares: one transaction per write, the row change and its event
// committed together, writers to one row serialised by an advisory lock, a notification after commit.
export class KindService {
  constructor(
    readonly kind: KindDefinition,
    private readonly dao: KindDao,
    private readonly deps: ServiceDependencies,
  ) {}

  async get(id: string): Promise<KindRow> {
    return (await this.dao.find(this.deps.db, id)) ?? this.notFound(id);
  }

  async list(selection: ListSelection): Promise<ListResult> {
    return await this.dao.list(this.deps.db, selection);
  }

  async create(values: FieldValues): Promise<KindRow> {
    const now = this.deps.clock();
    const id = this.deps.newId();
    return await this.write(id, 'Create', async (trx) => {
      const row = await this.dao.insert(trx, {
        ...values,
        id,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      });
      return { row, written: true };
    });
  }

  // Merge-patch: only the given fields change. A patch that changes nothing writes nothing.
  async patch(id: string, changes: FieldValues): Promise<KindRow> {
    return await this.write(id, 'Update', async (trx) => {
      await lockForTransaction(trx, this.kind.plural, id, this.deps.locks);
      const current = (await this.dao.find(trx, id)) ?? this.notFound(id);
      if (!this.changes(current, changes)) return { row: current, written: false };
      const row = await this.dao.update(trx, id, { ...changes, updated_at: this.deps.clock() });
      return { row, written: true };
    });
  }

  async delete(id: string): Promise<void> {
    await this.write(id, 'Delete', async (trx) => {
      await lockForTransaction(trx, this.kind.plural, id, this.deps.locks);
      const row = (await this.dao.softDelete(trx, id, this.deps.clock())) ?? this.notFound(id);
      return { row, written: true };
    });
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
        });
      }
      return result;
    });
    if (written) this.deps.notify(eventId);
    return row;
  }

  private changes(current: KindRow, changes: FieldValues): boolean {
    return Object.entries(changes).some(([name, value]) => !sameValue(current[name], value));
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
