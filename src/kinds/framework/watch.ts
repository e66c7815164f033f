import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { operationIdHeader } from '../../context/operation-id.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, badRequest } from '../../errors/catalogue.ts';
import type { EventType } from '../../events/event-store.ts';
import type { Listener } from '../../events/listener.ts';
import { apiBase } from '../../service-name.ts';
import { ksuidTime } from '../../values/ksuid.ts';
import { requireRelationAccess } from './caller-access.ts';
import type { KindDefinition, KindRow } from './kind.ts';
import { parseListQuery } from './list-params.ts';
import { kindListable } from './listable.ts';
import { createPresenter } from './presenter.ts';
import { relationJoins } from './relations.ts';
import { tenantCondition } from './tenancy.ts';
import {
  eventsAfter,
  oldestEventTime,
  positionOf,
  presentPosition,
  type StreamPosition,
} from './watch-query.ts';

/** How often a watch stream shows it is alive, and reads when nothing wakes it. */
export interface WatchSettings {
  /** Milliseconds between comment heartbeats, which keep an idle stream open through proxies. */
  readonly heartbeatMs: number;
  /** Milliseconds between reads: the fallback when no notification arrives. */
  readonly pollMs: number;
}

const changeTypes: Readonly<Record<EventType, string>> = {
  Create: 'ADDED',
  Update: 'MODIFIED',
  Delete: 'DELETED',
};
const batchSize = 100;

/**
 * `GET /<kind>?watch=true` (docs/events.md#watching-a-collection): server-sent events read from the events
 * table. Each stream reads at most one batch at a time and waits for the client to take it before reading
 * more, so a slow client holds one batch of memory, never more.
 */
export class WatchStreams {
  private readonly open = new Set<ServerResponse>();

  /** `listener`'s notifications wake the streams to read; `logger` gets the failed reads, which retry. */
  constructor(
    private readonly db: Db,
    private readonly listener: Listener,
    private readonly settings: WatchSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * The WatchHandler: streams the Kind's changes matching the list's `search`, after `Last-Event-ID` when
   * given (400 when that is no event of the Kind), else from now. Resolves when the client goes.
   */
  readonly handle = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kind: KindDefinition,
  ): Promise<void> => {
    const { where, joins } = parseListQuery(request.query as Record<string, unknown>, kindListable(kind));
    requireRelationAccess(kind, joins);
    // Decided now, in the request's context: the caller's tenant keeps the stream to its own events, and
    // the related rows a search reads to its own rows.
    const tenant = tenantCondition(kind, 'e');
    const search = where && { where, relations: relationJoins(kind, joins, kind.plural, tenantCondition) };
    const lastEventId = request.headers['last-event-id'];
    let position: StreamPosition;
    if (typeof lastEventId === 'string' && lastEventId !== '') {
      const known = await positionOf(this.db, kind.eventSource, lastEventId, tenant);
      if (!known) throw await this.unknownEvent(kind, lastEventId);
      position = known;
    } else {
      position = await presentPosition(this.db);
    }

    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      [operationIdHeader]: request.id,
    });
    raw.write(': watching\n\n');
    this.open.add(raw);

    const present = createPresenter(apiBase, kind);
    let closed = false;
    let wanted = true; // a read is due
    let wake: (() => void) | undefined;
    const nudge = (): void => {
      wanted = true;
      wake?.();
    };
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), this.settings.heartbeatMs);
    const poll = setInterval(nudge, this.settings.pollMs);
    this.listener.on('notification', nudge);
    raw.on('close', () => {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(poll);
      this.listener.off('notification', nudge);
      this.open.delete(raw);
      wake?.();
    });

    while (!closed) {
      if (!wanted) await new Promise<void>((resolve) => (wake = resolve));
      wanted = false;
      try {
        const events = await eventsAfter(
          this.db,
          kind.eventSource,
          kind.plural,
          position,
          search,
          tenant,
          batchSize,
        );
        for (const event of events) {
          position = event.position;
          if (!event.matches) continue;
          const data = JSON.stringify({
            type: changeTypes[event.eventType],
            object: present(event.row as KindRow),
          });
          const room = raw.write(
            `id: ${event.id}\nevent: ${changeTypes[event.eventType]}\ndata: ${data}\n\n`,
          );
          if (!room && !closed) await drainedOrClosed(raw);
        }
        if (events.length === batchSize) wanted = true; // more are waiting
      } catch (error) {
        this.logger.warn({ err: error, operation_id: request.id }, 'watch stream read failed; retrying');
      }
    }
  };

  /** Ends every open stream, so a graceful shutdown does not wait for watchers to leave. */
  closeAll(): void {
    for (const raw of this.open) raw.end();
  }

  // A Last-Event-ID that names no event kept: 410 when it is older than the oldest event kept (retention
  // deleted it: resuming would leave a gap), else 400 (it was never one of this Kind's events).
  private async unknownEvent(kind: KindDefinition, lastEventId: string): Promise<ApiError> {
    const made = ksuidTime(lastEventId);
    const oldest = made && (await oldestEventTime(this.db, kind.eventSource));
    // A KSUID holds the second it was made in: only a whole second before the oldest event is sure to be.
    if (made && (!oldest || made.getTime() + 1000 <= oldest.getTime())) {
      return new ApiError(
        'Gone',
        `Last-Event-ID '${lastEventId}' is older than the events kept (--event-retention): list ${kind.plural} again, then watch from now`,
      );
    }
    return badRequest(`Last-Event-ID '${lastEventId}' is not an event of ${kind.plural}`);
  }
}

// Resolves when the client has taken what was written, or has gone; leaves no listener behind.
function drainedOrClosed(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
