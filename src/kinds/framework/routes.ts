import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { parseListQuery } from '../../http/list-params.ts';
import { errorResponses } from '../../http/openapi.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import { parseCreateBody, parsePatchBody } from './body.ts';
import type { KindDefinition } from './kind.ts';
import { kindListable } from './listable.ts';
import { createPresenter, kindHref } from './presenter.ts';
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

// Keeps only the requested properties of a presented resource.
function project(fields: readonly string[]): (resource: object) => Record<string, unknown> {
  return (resource) => Object.fromEntries(Object.entries(resource).filter(([name]) => fields.includes(name)));
}

const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });

// The five routes of a Kind (SPEC §2). Each handler follows the same steps: parse and validate,
// call the service, present.
export function registerKindRoutes(app: FastifyInstance, kind: KindDefinition, service: KindService): void {
  const present = createPresenter(apiBase, kind);
  const listable = kindListable(kind);
  const collection = kindHref(apiBase, kind);
  const tags = [kind.plural];
  const security = [{ Bearer: [] }];

  defineResource(app, collection, {
    GET: {
      schema: {
        tags,
        security,
        summary: `List ${kind.plural}`,
        querystring: listQuery,
        response: { 200: ref(`${kind.name}List`), ...errorResponses },
      },
      handler: async (request, reply) => {
        const { page, size, where, orderBy, fields } = parseListQuery(
          request.query as Record<string, unknown>,
          listable,
        );
        const { rows, total } = await service.list({
          where,
          orderBy,
          offset: (page - 1) * size,
          limit: size,
        });
        const list = { kind: `${kind.name}List`, page, size: rows.length, total, items: rows.map(present) };
        if (!fields) return list;
        // Projected items lack properties the response schema requires: serialise them as they are.
        return reply.serializer(JSON.stringify).send({ ...list, items: list.items.map(project(fields)) });
      },
    },
    POST: {
      schema: {
        tags,
        security,
        summary: `Create a ${kind.name}`,
        body: ref(`${kind.name}CreateRequest`),
        response: { 201: ref(kind.name), ...errorResponses },
      },
      handler: async (request, reply) => {
        const row = await service.create(parseCreateBody(kind, request.body));
        const resource = present(row);
        return reply.code(201).header('Location', resource.href).send(resource);
      },
    },
  });

  defineResource(app, `${collection}/:id`, {
    GET: {
      schema: {
        tags,
        security,
        summary: `Get a ${kind.name}`,
        params: idParams,
        response: { 200: ref(kind.name), ...errorResponses },
      },
      handler: async (request) => present(await service.get((request.params as { id: string }).id)),
    },
    PATCH: {
      schema: {
        tags,
        security,
        summary: `Update a ${kind.name} (JSON merge patch)`,
        params: idParams,
        body: ref(`${kind.name}PatchRequest`),
        response: { 200: ref(kind.name), ...errorResponses },
      },
      handler: async (request) => {
        const { id } = request.params as { id: string };
        const changes = parsePatchBody(kind, request.body, id);
        return present(await service.patch(id, changes));
      },
    },
    DELETE: {
      schema: {
        tags,
        security,
        summary: `Delete a ${kind.name}`,
        params: idParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses },
      },
      handler: async (request, reply) => {
        await service.delete((request.params as { id: string }).id);
        return reply.code(204).send();
      },
    },
  });
}
