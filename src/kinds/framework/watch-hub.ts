import type { ServerResponse } from 'node:http';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.ts';
import type { EventType } from '../../events/event-store.ts';
import type { Listener } from '../../events/listener.ts';
import { apiBase } from '../../service-name.ts';
import type { KindDefinition, KindRow } from './kind.ts';
import { createPresenter } from './presenter.ts';
import {
  eventsAfter,
  type FilterEvaluation,
  filterEvaluation,
  isAfter,
  type Snapshot,
  type StreamEvent,
  type StreamFilter,
  type StreamPosition,
  visibleIn,
} from './watch-query.ts';

/** How often the hub reads when no notification wakes it. */
export interface WatchHubSettings {
  /** Milliseconds between reads: the fallback when no notification arrives. */
  readonly pollMs: number;
}

/**
 * Counts the statements the hub sends: `shared`, a read for a Kind's live streams; `catch-up`, a read for
 * one stream behind; `searches`, an evaluation of streams' searches over the events read.
 */
export interface WatchObserver {
  watchRead(source: string, reader: 'shared' | 'catch-up' | 'searches'): void;
}

/** One open watch stream, as the hub feeds it. */
export interface Watcher {
  readonly kind: KindDefinition;
  /** The last event passed: the next message is an event after it. */
  position: StreamPosition;
  /** A new watch's opening snapshot: the events it saw are not sent. */
  readonly snapshot: Snapshot | undefined;
  /** The tenant whose events the stream is kept to; undefined for every tenant's. */
  readonly tenant: string | undefined;
  /** The stream's search; undefined for every change. */
  readonly filter: StreamFilter | undefined;
  /** Where the messages go. */
  readonly raw: ServerResponse;
}

const changeTypes: Readonly<Record<EventType, string>> = {
  Create: 'ADDED',
  Update: 'MODIFIED',
  Delete: 'DELETED',
};
const batchSize = 100;
// One statement evaluates at most this many distinct searches, with at most this many parameters
// (PostgreSQL takes 65,535): more searches take more statements, never a failed read.
const filtersPerStatement = 500;
const parametersPerStatement = 30_000;

/**
 * One reader per process for every watch stream (docs/events.md#watching-a-collection): the live
 * streams of a Kind share one read of its events per wake (a notification or the poll), with one more
 * statement that evaluates their distinct searches over the events read, so the database's work grows
 * with the distinct searches, never with the streams. Each stream keeps its own position and is sent
 * only what is after it, in its tenant, unseen by its opening snapshot and passing its search.
 *
 * A stream whose client stops taking messages (its socket's buffer is full) leaves the shared read: it
 * holds what was written, and when the client has taken it, it reads on its own from its position until
 * it is caught up, then rejoins. So a slow client never holds back the others, nor memory beyond one
 * batch.
 */
export class WatchHub {
  private readonly feeds = new Map<string, KindFeed>();
  private watchers = 0;
  private poll: NodeJS.Timeout | undefined;
  private readonly wakeAll = (): void => {
    for (const feed of this.feeds.values()) feed.wake();
  };

  constructor(
    private readonly db: Db,
    private readonly listener: Listener,
    private readonly settings: WatchHubSettings,
    private readonly observer: WatchObserver,
    private readonly logger: Logger,
  ) {}

  /**
   * Feeds `watcher` until the returned function is called (when its response closes). A watcher at the
   * present joins the shared read at once; one resuming from an earlier event catches up on its own first.
   */
  add(watcher: Watcher, atPresent: boolean): () => void {
    const feed = this.feedOf(watcher.kind);
    if (this.watchers++ === 0) {
      this.listener.on('notification', this.wakeAll);
      this.poll = setInterval(this.wakeAll, this.settings.pollMs);
    }
    const member = feed.member(watcher);
    if (atPresent) feed.join(member);
    else void feed.catchUp(member);
    return () => {
      if (member.closed) return;
      feed.remove(member);
      if (--this.watchers === 0) {
        this.listener.off('notification', this.wakeAll);
        clearInterval(this.poll);
      }
    };
  }

  private feedOf(kind: KindDefinition): KindFeed {
    let feed = this.feeds.get(kind.name);
    if (!feed) {
      feed = new KindFeed(kind, this.db, this.settings, this.observer, this.logger);
      this.feeds.set(kind.name, feed);
    }
    return feed;
  }
}

// A watcher with what the feed keeps about it.
interface Member extends Watcher {
  /** Its search's text and parameters: streams with the same search share its evaluation. */
  readonly filterKey: string | undefined;
  readonly parameterCount: number;
  closed: boolean;
}

// Whether an event passes a member's search.
type Matcher = (member: Member, event: StreamEvent) => boolean;

// The streams of one Kind: the live ones, read for together, and those catching up on their own.
class KindFeed {
  private readonly live = new Set<Member>();
  private readonly evaluations = new Map<string, FilterEvaluation>(); // by the searches' keys, in order
  private reading = false;
  private wanted = false;
  private readonly present;

  constructor(
    private readonly kind: KindDefinition,
    private readonly db: Db,
    private readonly settings: WatchHubSettings,
    private readonly observer: WatchObserver,
    private readonly logger: Logger,
  ) {
    this.present = createPresenter(apiBase, kind);
  }

  member(watcher: Watcher): Member {
    const compiled = watcher.filter
      ? sql`${watcher.filter.where} ${watcher.filter.relations ?? sql``}`.compile(this.db)
      : undefined;
    return {
      ...watcher,
      filterKey: compiled && `${compiled.sql}\u0000${JSON.stringify(compiled.parameters, jsonOfBigint)}`,
      parameterCount: compiled?.parameters.length ?? 0,
      closed: false,
    };
  }

  join(member: Member): void {
    if (member.closed) return;
    this.live.add(member);
    this.wake();
  }

  remove(member: Member): void {
    member.closed = true;
    this.live.delete(member);
  }

  wake(): void {
    this.wanted = true;
    if (!this.reading) void this.readWhileWanted();
  }

  // Reads on the member's own from its position, sending what it reads, until a read comes back short
  // of a batch: it is then within a batch of the present, and rejoins the shared read.
  async catchUp(member: Member): Promise<void> {
    const tenant = member.tenant === undefined ? undefined : sql<boolean>`e.tenant_id = ${member.tenant}`;
    while (!member.closed) {
      if (member.raw.writableNeedDrain) await drainedOrClosed(member.raw);
      if (member.closed) return;
      try {
        const events = await eventsAfter(
          this.db,
          this.kind.eventSource,
          this.kind.plural,
          member.position,
          tenant,
          batchSize,
        );
        this.observer.watchRead(this.kind.eventSource, 'catch-up');
        const matches = await this.matcher(events, [member]);
        if (!this.send(member, events, matches, new Map())) continue; // blocked again: wait, then read on
        if (events.length < batchSize) return this.join(member);
      } catch (error) {
        this.logger.warn({ err: error, source: this.kind.eventSource }, 'watch stream read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, this.settings.pollMs));
      }
    }
  }

  private async readWhileWanted(): Promise<void> {
    this.reading = true;
    try {
      while (this.wanted && this.live.size > 0) {
        this.wanted = false;
        try {
          await this.readForLive();
        } catch (error) {
          // The next wake (a notification, or the poll) reads again from the same positions.
          this.logger.warn({ err: error, source: this.kind.eventSource }, 'watch read failed; retrying');
        }
      }
    } finally {
      this.reading = false;
    }
  }

  // One read from the earliest live position, sent to every live member it has news for.
  private async readForLive(): Promise<void> {
    const members = [...this.live];
    const from = members.reduce(
      (earliest, member) => (isAfter(earliest, member.position) ? member.position : earliest),
      members[0]?.position ?? { txid: 0n, seq: 0n },
    );
    const events = await eventsAfter(
      this.db,
      this.kind.eventSource,
      this.kind.plural,
      from,
      undefined,
      batchSize,
    );
    this.observer.watchRead(this.kind.eventSource, 'shared');
    if (events.length === batchSize) this.wanted = true; // more are waiting
    if (events.length === 0) return;
    const matches = await this.matcher(
      events,
      members.filter((member) => isAfter(events[events.length - 1]?.position ?? from, member.position)),
    );
    const messages = new Map<string, string>();
    for (const member of members) {
      if (member.closed || this.send(member, events, matches, messages)) continue;
      // Its client is not taking what was sent: it holds that, and catches up on its own once taken.
      this.live.delete(member);
      void this.catchUp(member);
    }
  }

  // Sends `member` the events after its position that it is to see, in order, and moves its position
  // past each event it has dealt with. False when its client's buffer is full: it stopped there.
  private send(
    member: Member,
    events: readonly StreamEvent[],
    matches: Matcher,
    messages: Map<string, string>,
  ): boolean {
    for (const event of events) {
      if (member.closed) return true;
      if (!isAfter(event.position, member.position)) continue;
      member.position = event.position;
      if (member.tenant !== undefined && event.tenant !== member.tenant) continue;
      if (member.snapshot && visibleIn(member.snapshot, event.position.txid)) continue;
      if (!matches(member, event)) continue;
      if (!member.raw.write(this.messageOf(event, messages))) return false;
    }
    return true;
  }

  // An event's message, made once for every stream it goes to.
  private messageOf(event: StreamEvent, messages: Map<string, string>): string {
    let message = messages.get(event.id);
    if (message === undefined) {
      const type = changeTypes[event.eventType];
      const data = JSON.stringify({ type, object: this.present(event.row as KindRow) });
      message = `id: ${event.id}\nevent: ${type}\ndata: ${data}\n\n`;
      messages.set(event.id, message);
    }
    return message;
  }

  // Evaluates the members' distinct searches over `events` in as few statements as the limits allow.
  private async matcher(events: readonly StreamEvent[], members: readonly Member[]): Promise<Matcher> {
    const filters = new Map<string, { filter: StreamFilter; parameters: number }>();
    for (const member of members) {
      if (member.filter && member.filterKey !== undefined && !filters.has(member.filterKey))
        filters.set(member.filterKey, { filter: member.filter, parameters: member.parameterCount });
    }
    const passed = new Map<string, Set<string>>(); // filter key → the ids of the events that pass it
    const ids = events.map((event) => event.id);
    for (const chunk of ids.length === 0 ? [] : chunks([...filters])) {
      const rows = await this.evaluation(chunk.map(([key, { filter }]) => [key, filter]))(ids);
      this.observer.watchRead(this.kind.eventSource, 'searches');
      for (const [id, each] of rows) {
        each.forEach((passes, index) => {
          const key = chunk[index]?.[0];
          if (!passes || key === undefined) return;
          const passing = passed.get(key) ?? new Set<string>();
          passing.add(id);
          passed.set(key, passing);
        });
      }
    }
    return (member, event) =>
      member.filterKey === undefined || passed.get(member.filterKey)?.has(event.id) === true;
  }

  // The statement for these searches, compiled once while the same streams stay open.
  private evaluation(filters: readonly [string, StreamFilter][]): FilterEvaluation {
    const signature = filters.map(([key]) => key).join('\u0001');
    let evaluation = this.evaluations.get(signature);
    if (!evaluation) {
      if (this.evaluations.size >= 16) this.evaluations.clear(); // streams came and went: start afresh
      evaluation = filterEvaluation(
        this.db,
        this.kind.eventSource,
        this.kind.plural,
        filters.map(([, filter]) => filter),
      );
      this.evaluations.set(signature, evaluation);
    }
    return evaluation;
  }
}

/** The distinct searches, in groups one statement can evaluate (at most 500, with at most 30,000 parameters). */
export function chunks<T extends [string, { parameters: number }]>(filters: readonly T[]): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let parameters = 0;
  for (const filter of filters) {
    const [, { parameters: own }] = filter;
    if (
      current.length > 0 &&
      (current.length === filtersPerStatement || parameters + own > parametersPerStatement)
    ) {
      groups.push(current);
      current = [];
      parameters = 0;
    }
    current.push(filter);
    parameters += own;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function jsonOfBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

// Resolves when the client has taken what was written, or has gone; leaves no listener behind.
function drainedOrClosed(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (raw.destroyed) return resolve();
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
