import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { operationIdHeader } from '../../context/operation-id.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, badRequest } from '../../errors/catalogue.ts';
import type { Listener } from '../../events/listener.ts';
import { ksuidTime } from '../../values/ksuid.ts';
import { requireRelationAccess } from './caller-access.ts';
import type { KindDefinition } from './kind.ts';
import { parseListQuery } from './list-params.ts';
import { kindListable } from './listable.ts';
import { relationJoins } from './relations.ts';
import { keptTenant, tenantCondition } from './tenancy.ts';
import { WatchHub, type WatchObserver } from './watch-hub.ts';
import { oldestEventTime, positionOf, presentPosition } from './watch-query.ts';

/** How often a watch stream shows it is alive, and reads when nothing wakes it. */
export interface WatchSettings {
  /** Milliseconds between comment heartbeats, which keep an idle stream open through proxies. */
  readonly heartbeatMs: number;
  /** Milliseconds between reads: the fallback when no notification arrives. */
  readonly pollMs: number;
}

/**
 * `GET /<kind>?watch=true` (docs/events.md#watching-a-collection): server-sent events read from the events
 * table by one reader for the whole process (WatchHub), whatever the number of streams.
 */
export class WatchStreams {
  private readonly open = new Set<ServerResponse>();
  private readonly hub: WatchHub;

  /** `listener`'s notifications wake the reader; `logger` gets the failed reads, which retry. */
  constructor(
    private readonly db: Db,
    listener: Listener,
    private readonly settings: WatchSettings,
    observer: WatchObserver,
    logger: Logger,
  ) {
    this.hub = new WatchHub(db, listener, settings, observer, logger);
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

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
    const tenant = keptTenant(kind);
    const filter = where && {
      where,
      relations: joins.length > 0 ? relationJoins(kind, joins, kind.plural, tenantCondition) : undefined,
    };
    const lastEventId = request.headers['last-event-id'];
    const resumed =
      typeof lastEventId === 'string' && lastEventId !== ''
        ? await positionOf(this.db, kind.eventSource, lastEventId, tenantCondition(kind, 'e'))
        : undefined;
    if (typeof lastEventId === 'string' && lastEventId !== '' && !resumed)
      throw await this.unknownEvent(kind, lastEventId);
    const start = resumed ? { position: resumed, snapshot: undefined } : await presentPosition(this.db);

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
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), this.settings.heartbeatMs);
    const leave = this.hub.add({ kind, ...start, tenant, filter, raw }, !resumed);
    // A client that left while the stream was being set up has closed it already: no 'close' will come.
    if (!raw.destroyed) await new Promise((resolve) => raw.once('close', resolve));
    clearInterval(heartbeat);
    this.open.delete(raw);
    leave();
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
