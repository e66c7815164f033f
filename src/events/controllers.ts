import type { EventType } from './event-store.ts';

// An event as handlers see it.
export interface EventRecord {
  readonly id: string;
  readonly source: string; // the Kind's plural, e.g. "Dinosaurs"
  readonly sourceId: string;
  readonly eventType: EventType;
  readonly attempts: number; // earlier attempts, 0 the first time
}

export type EventHandler = (event: EventRecord) => Promise<void>;

// A Kind's reactions to its own events, as rh-trex names them: OnUpsert for Create and Update,
// OnDelete for Delete. Handlers may run more than once for one event (after a crash), so they must be
// idempotent.
export interface KindControllers {
  readonly onUpsert?: EventHandler;
  readonly onDelete?: EventHandler;
}

// Handlers by event source and type. Several Kinds (and later integrations such as webhooks) add to it.
export class ControllerRegistry {
  private readonly handlers = new Map<string, EventHandler[]>();
  private readonly everyEvent: EventHandler[] = [];

  add(source: string, controllers: KindControllers): void {
    const { onUpsert, onDelete } = controllers;
    if (onUpsert) {
      this.on(source, 'Create', onUpsert);
      this.on(source, 'Update', onUpsert);
    }
    if (onDelete) this.on(source, 'Delete', onDelete);
  }

  on(source: string, eventType: EventType, handler: EventHandler): void {
    const key = `${source}/${eventType}`;
    this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
  }

  // A handler of every event of every source (an integration such as webhooks). These run first, so a
  // failing Kind handler does not hold them back; like every handler, they must be idempotent.
  onEvery(handler: EventHandler): void {
    this.everyEvent.push(handler);
  }

  // Runs an event's handlers one after another, every-event handlers first, so an event holds one
  // connection at a time.
  async run(event: EventRecord): Promise<void> {
    const own = this.handlers.get(`${event.source}/${event.eventType}`) ?? [];
    for (const handler of [...this.everyEvent, ...own]) await handler(event);
  }
}
