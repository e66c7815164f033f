import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Verb } from '../../auth/access-files.ts';
import { exampleEventId, exampleId } from '../../http/openapi-examples.ts';
import { errorResponses, notFoundResponse, referencedResponse } from '../../http/openapi-responses.ts';
import { defineResource } from '../../http/resource-routes.ts';
import type { RouteAccess } from '../../http/route-access.ts';
import { apiBase } from '../../service-name.ts';
import { kindHandlers, type WatchHandler } from './handlers.ts';
import type { KindDefinition } from './kind.ts';
import { kindHref } from './presenter.ts';
import type { KindService } from './service.ts';

const idParams = Type.Object({
  id: Type.String({ description: 'The resource id (KSUID)', examples: [exampleId] }),
});
/**
 * The query parameters of a list, for the OpenAPI document. Examples only where "Try it out" should fill
 * the field in: a search, an order or a projection there would surprise whoever lists from the docs
 * page, so those describe their syntax instead.
 */
export const listQuery = Type.Object({
  page: Type.Optional(
    Type.Integer({ minimum: 1, default: 1, description: 'Page number, 1-based', examples: [1] }),
  ),
  size: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 100,
      description: 'Items per page (larger values are taken as 65500); 0 returns only the total',
      examples: [10],
    }),
  ),
  search: Type.Optional(
    Type.String({
      description:
        "Filter in the search language (docs/search.md), e.g. created_at > '2024-01-01' and id in ('a', 'b')",
    }),
  ),
  orderBy: Type.Optional(
    Type.String({
      description: 'Comma list of `field [asc|desc]`; default created_at asc, id asc',
    }),
  ),
  fields: Type.Optional(
    Type.String({
      description:
        'Comma list of the properties to return; id is always returned. The items then carry only these, ' +
        'not every property the list schema shows',
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      description:
        'Start after the row this cursor names: the cursor of the next page, from the Link header (rel="next") ' +
        'of a full page; not with page. As fast at the millionth row as at the first',
    }),
  ),
});

const watchQuery = Type.Object({
  watch: Type.Optional(
    Type.Boolean({
      description: 'Stream changes as server-sent events (text/event-stream) instead of listing',
      examples: [false],
    }),
  ),
});
/** The request header of a list: how to count its total (docs/api.md#totals). */
export const listHeaders = Type.Object({
  prefer: Type.Optional(
    Type.String({
      description:
        "count=exact: count the total exactly, however many rows match; count=estimated: take PostgreSQL's " +
        'estimate. Without it, exact up to --exact-count-limit rows (10000), estimated beyond',
      examples: ['count=exact'],
    }),
  ),
});
/** The response header of a list: what its total is. */
export const listResponseHeaders = {
  Link: {
    type: 'string',
    'x-trex-content-type': 'application/json',
    'x-trex-optional': true, // only after a full page
    description: 'After a full page: <the next page, by cursor>; rel="next"',
  },
  'Preference-Applied': {
    type: 'string',
    enum: ['count=exact', 'count=estimated'],
    'x-trex-content-type': 'application/json', // a page of the list, not a watch stream
    description:
      'On a page of the list: count=exact or count=estimated, whether `total` was counted or estimated',
  },
};
const watchHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({ description: 'With watch=true: resume after this event id, with no gap and no duplicate' }),
  ),
});
const ifMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'Apply only if the ETag still matches (else 412)' })),
});
const ifNoneMatchHeaders = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({ description: 'Answer 304 with no body if the ETag still matches' }),
  ),
});
const idempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description: 'Retries with the same key and body return the first response and create one resource',
    }),
  ),
});
const etag = {
  ETag: { type: 'string', description: 'Strong validator of the resource (If-Match, If-None-Match)' },
};
const location = { Location: { type: 'string', description: 'The path of the new resource' } };
// The media types a create or a patch accepts, each with the same schema.
const jsonBody = (id: string): object => ({
  content: Object.fromEntries(
    ['application/json', 'application/merge-patch+json'].map((type) => [type, { schema: ref(id) }]),
  ),
});
const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });

// A watch stream, as its messages read: `id:`, `event:` (ADDED, MODIFIED, DELETED) and `data:`
// `{"type":...,"object":<resource>}`, with comment heartbeats.
const watchStream = {
  type: 'string',
  description:
    'Server-sent events: one message per change, `id:` the event id, `event:` ADDED, MODIFIED or DELETED',
  examples: [`id: ${exampleEventId}\nevent: ADDED\ndata: {"type":"ADDED","object":{...}}\n\n`],
};

/** What a Kind's routes include besides list and get. */
export interface KindRouteOptions {
  /** Only the GET routes (the events API). */
  readonly readOnly?: boolean;
  /** Serves `?watch=true` on the list; without it the list offers no watch. */
  readonly watch?: WatchHandler;
}

/**
 * The routes of a Kind (docs/api.md#routes-of-a-kind): list and create on the collection, get, patch and
 * delete on an item.
 */
export function registerKindRoutes(
  app: FastifyInstance,
  kind: KindDefinition,
  service: KindService,
  options: KindRouteOptions = {},
): void {
  const handlers = kindHandlers(kind, service, options.watch);
  const access = (verb: Verb): RouteAccess => ({ kind: kind.name, verb });
  const collection = kindHref(apiBase, kind);
  const tags = [kind.plural];
  const security = [{ Bearer: [] }];
  const writable = !options.readOnly;
  const plural = kind.eventSource; // the plural in PascalCase: listDinosaurs
  const notFound = notFoundResponse(`${kind.name} with id='${exampleId}' not found`);

  defineResource(app, collection, {
    GET: {
      schema: {
        tags,
        security,
        operationId: `list${plural}`,
        summary: `List ${kind.plural}${options.watch ? ', or watch their changes (watch=true, text/event-stream)' : ''}`,
        querystring: options.watch
          ? Type.Object({ ...listQuery.properties, ...watchQuery.properties })
          : listQuery,
        headers: options.watch
          ? Type.Object({ ...listHeaders.properties, ...watchHeaders.properties })
          : listHeaders,
        response: {
          200: {
            headers: listResponseHeaders,
            description: options.watch
              ? 'A page of the list, or (watch=true) a stream of changes'
              : 'A page of the list',
            content: {
              'application/json': { schema: ref(`${kind.name}List`) },
              ...(options.watch ? { 'text/event-stream': { schema: watchStream } } : {}),
            },
          },
          ...errorResponses(400, 401, 403, 500, 503),
          ...(options.watch ? errorResponses(410) : {}),
        },
      },
      config: access('list'),
      handler: handlers.list,
    },
    POST: writable
      ? {
          schema: {
            tags,
            security,
            operationId: `create${kind.name}`,
            summary: `Create a ${kind.name}`,
            headers: idempotencyHeaders,
            body: jsonBody(`${kind.name}CreateRequest`),
            response: {
              201: { description: 'Created', ...ref(kind.name), headers: { ...etag, ...location } },
              ...errorResponses(400, 401, 403, 409, 413, 415, 500, 503),
            },
          },
          config: access('create'),
          handler: handlers.create,
        }
      : undefined,
  });

  defineResource(app, `${collection}/:id`, {
    GET: {
      schema: {
        tags,
        security,
        operationId: `get${kind.name}`,
        summary: `Get a ${kind.name}`,
        params: idParams,
        headers: ifNoneMatchHeaders,
        response: {
          200: { description: `The ${kind.name}`, ...ref(kind.name), headers: etag },
          304: { type: 'null', description: 'Not modified (If-None-Match matched)', headers: etag },
          ...errorResponses(401, 403, 500, 503),
          ...notFound,
        },
      },
      config: access('get'),
      handler: handlers.get,
    },
    PATCH: writable
      ? {
          schema: {
            tags,
            security,
            operationId: `update${kind.name}`,
            summary: `Update a ${kind.name} (JSON merge patch)`,
            params: idParams,
            headers: ifMatchHeaders,
            body: jsonBody(`${kind.name}PatchRequest`),
            response: {
              200: { description: `The ${kind.name}, changed or not`, ...ref(kind.name), headers: etag },
              ...errorResponses(400, 401, 403, 412, 413, 415, 500, 503),
              ...notFound,
            },
          },
          config: access('update'),
          handler: handlers.patch,
        }
      : undefined,
    DELETE: writable
      ? {
          schema: {
            tags,
            security,
            operationId: `delete${kind.name}`,
            summary: `Delete a ${kind.name}`,
            params: idParams,
            headers: ifMatchHeaders,
            response: {
              204: { type: 'null', description: 'Deleted' },
              ...errorResponses(401, 403, 412, 500, 503),
              ...notFound,
              ...referencedResponse(kind.name),
            },
          },
          config: access('delete'),
          handler: handlers.delete,
        }
      : undefined,
  });
}
