import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Verb } from '../../auth/access-files.ts';
import { errorResponses } from '../../http/openapi.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import { kindHandlers, type WatchHandler } from './handlers.ts';
import type { KindDefinition } from './kind.ts';
import { kindHref } from './presenter.ts';
import type { KindService } from './service.ts';

const idParams = Type.Object({ id: Type.String({ description: 'The resource id (KSUID)' }) });
const listQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1, description: 'Page number, 1-based' })),
  size: Type.Optional(
    Type.Integer({ minimum: 0, default: 100, description: 'Items per page (at most 65500)' }),
  ),
  search: Type.Optional(
    Type.String({
      description: "Filter in the search language, e.g. species like 'bronto%' and created_at > '2024-01-01'",
    }),
  ),
  orderBy: Type.Optional(
    Type.String({ description: 'Comma list of `field [asc|desc]`; default created_at asc, id asc' }),
  ),
  fields: Type.Optional(
    Type.String({ description: 'Comma list of the properties to return; id is always returned' }),
  ),
});

const watchQuery = Type.Object({
  watch: Type.Optional(
    Type.Boolean({ description: 'Stream changes as server-sent events instead of listing' }),
  ),
});
const ifMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'Apply only if the ETag still matches (else 412)' })),
});
const idempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Retries with the same key create one resource' }),
  ),
});
const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });

// What the authorization policy decides on, attached to each route.
export interface KindRouteConfig {
  readonly kind: string;
  readonly verb: Verb;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    kind?: string;
    verb?: Verb;
  }
}

export interface KindRouteOptions {
  readonly readOnly?: boolean; // only the GET routes (the events API)
  readonly watch?: WatchHandler;
}

// The routes of a Kind (SPEC §2): list and create on the collection, get, patch and delete on an item.
export function registerKindRoutes(
  app: FastifyInstance,
  kind: KindDefinition,
  service: KindService,
  options: KindRouteOptions = {},
): void {
  const handlers = kindHandlers(kind, service, options.watch);
  const access = (verb: Verb): KindRouteConfig => ({ kind: kind.name, verb });
  const collection = kindHref(apiBase, kind);
  const tags = [kind.plural];
  const security = [{ Bearer: [] }];
  const writable = !options.readOnly;
  const etag = {
    ETag: { type: 'string', description: 'Strong validator of the resource (If-Match, If-None-Match)' },
  };

  defineResource(app, collection, {
    GET: {
      schema: {
        tags,
        security,
        summary: `List ${kind.plural}${options.watch ? ', or watch their changes (watch=true, text/event-stream)' : ''}`,
        querystring: options.watch
          ? Type.Object({ ...listQuery.properties, ...watchQuery.properties })
          : listQuery,
        response: { 200: ref(`${kind.name}List`), ...errorResponses },
      },
      config: access('list'),
      handler: handlers.list,
    },
    POST: writable
      ? {
          schema: {
            tags,
            security,
            summary: `Create a ${kind.name}`,
            headers: idempotencyHeaders,
            body: ref(`${kind.name}CreateRequest`),
            response: { 201: { ...ref(kind.name), headers: etag }, ...errorResponses },
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
        summary: `Get a ${kind.name}`,
        params: idParams,
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String()) }),
        response: {
          200: { ...ref(kind.name), headers: etag },
          304: { type: 'null', description: 'Not modified' },
          ...errorResponses,
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
            summary: `Update a ${kind.name} (JSON merge patch)`,
            params: idParams,
            headers: ifMatchHeaders,
            body: ref(`${kind.name}PatchRequest`),
            response: { 200: { ...ref(kind.name), headers: etag }, ...errorResponses },
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
            summary: `Delete a ${kind.name}`,
            params: idParams,
            headers: ifMatchHeaders,
            response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses },
          },
          config: access('delete'),
          handler: handlers.delete,
        }
      : undefined,
  });
}
