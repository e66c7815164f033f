import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { parseListParams } from '../../http/list-params.ts';
import { errorResponses } from '../../http/openapi.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import { parseCreateBody, parsePatchBody } from './body.ts';
import type { KindDefinition } from './kind.ts';
import { createPresenter, kindHref } from './presenter.ts';
import type { KindService } from './service.ts';

const idParams = Type.Object({ id: Type.String({ description: 'The resource id (KSUID)' }) });
const listQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1, description: 'Page number, 1-based' })),
  size: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 65500, default: 100, description: 'Items per page' }),
  ),
});
const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });

// The five routes of a Kind (SPEC §2). Each handler follows the same steps: parse and validate,
// call the service, present.
export function registerKindRoutes(app: FastifyInstance, kind: KindDefinition, service: KindService): void {
  const present = createPresenter(apiBase, kind);
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
      handler: async (request) => {
        const { page, size } = parseListParams(request.query as Record<string, unknown>);
        const { rows, total } = await service.list({ offset: (page - 1) * size, limit: size });
        return { kind: `${kind.name}List`, page, size: rows.length, total, items: rows.map(present) };
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
