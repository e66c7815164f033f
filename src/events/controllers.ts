import type { RawBuilder, SqlBool } from 'kysely';
import type { EventType } from './event-store.ts';

/** An event as handlers see it. */
export interface EventRecord {
  /** The event's id. */
  readonly id: string;
  /** The Kind's plural, e.g. "Dinosaurs". */
  readonly source: string;
  /** The id of the resource that changed. */
  readonly sourceId: string;
  /** Create, Update or Delete. */
  readonly eventType: EventType;
  /** Earlier attempts, 0 the first time. */
  readonly attempts: number;
}

/**
 * Reacts to one event. A rejection fails the event's attempt: it is retried later, with backoff, until
 * an attempt limit.
 */
export type EventHandler = (event: EventRecord) => Promise<void>;

/**
 * A Kind's reactions to its own events, as rh-trex names them: OnUpsert for Create and Update,
 * OnDelete for Delete. Handlers may run more than once for one event (after a crash), so they must be
 * idempotent.
 */
export interface KindControllers {
  /** Runs for the Kind's Create and Update events. */
  readonly onUpsert?: EventHandler;
  /** Runs for the Kind's Delete events. */
  readonly onDelete?: EventHandler;
}

/** SQL over an event's row, aliased `e` (a row of `events`), evaluated by the claim that takes it. */
export type EventCondition = RawBuilder<SqlBool>;

/** Handlers by event source and type. Several Kinds (and later integrations such as webhooks) add to it. */
export class ControllerRegistry {
  private readonly handlers = new Map<string, EventHandler[]>();
  private readonly everyEvent: { readonly handler: EventHandler; readonly condition?: number }[] = [];
  private readonly conditions: EventCondition[] = [];

  /** Adds a Kind's controllers; `source` is the Kind's event source ("Dinosaurs"). */
  add(source: string, controllers: KindControllers): void {
    const { onUpsert, onDelete } = controllers;
    if (onUpsert) {
      this.on(source, 'Create', onUpsert);
      this.on(source, 'Update', onUpsert);
    }
    if (onDelete) this.on(source, 'Delete', onDelete);
  }

  /** Adds a handler of one type of one source's events; a key's handlers run in the order added. */
  on(source: string, eventType: EventType, handler: EventHandler): void {
    const key = `${source}/${eventType}`;
    this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
  }

  /**
   * A handler of every event of every source (an integration such as webhooks). These run first, so a
   * failing Kind handler does not hold them back; like every handler, they must be idempotent. With
   * `when`, the handler is skipped for an event where the claim found it false.
   */
  onEvery(handler: EventHandler, when?: EventCondition): void {
    if (when === undefined) {
      this.everyEvent.push({ handler });
      return;
    }
    this.everyEvent.push({ handler, condition: this.conditions.length });
    this.conditions.push(when);
  }

  /** The conditions the claim evaluates for each event, in the order `run` expects their results. */
  claimConditions(): readonly EventCondition[] {
    return this.conditions;
  }

  /**
   * Runs an event's handlers one after another, every-event handlers first, so an event holds one
   * connection at a time; `held` gives the claim's result for each of claimConditions (absent: all
   * held). The first failure rejects, and the handlers after it do not run.
   */
  async run(event: EventRecord, held: readonly boolean[] = []): Promise<void> {
    for (const { handler, condition } of this.everyEvent) {
      if (condition === undefined || held[condition] !== false) await handler(event);
    }
    for (const handler of this.handlers.get(`${event.source}/${event.eventType}`) ?? []) await handler(event);
  }
}
