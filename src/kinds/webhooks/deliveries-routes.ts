import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type SqlBool, sql } from 'kysely';
import { Type } from 'typebox';
import type { Db } from '../../db/database.ts';
import { notFound } from '../../errors/catalogue.ts';
import { parseListQuery } from '../../http/list-params.ts';
import { errorResponses } from '../../http/openapi.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import { KindDao } from '../framework/dao.ts';
import type { KindRow } from '../framework/kind.ts';
import { kindListable } from '../framework/listable.ts';
import type { KindRoutes } from '../framework/plugin.ts';
import { createPresenter, kindHref } from '../framework/presenter.ts';
import { kindSchemas } from '../framework/schemas.ts';
import type { KindService } from '../framework/service.ts';
import { deliveryKind } from './delivery-kind.ts';
import { webhookKind } from './model.ts';

const schemas = kindSchemas(deliveryKind);
const listable = kindListable(deliveryKind);
const present = createPresenter(apiBase, deliveryKind);
const dao = new KindDao(deliveryKind);

// `/webhooks/{id}/deliveries` and `/webhooks/{id}/deliveries/{delivery_id}`: read-only, with the list
// semantics of every collection, for a webhook that exists.
export function deliveriesRoutes(db: Db): KindRoutes {
  return {
    schemas: [schemas.resource, schemas.list],
    register(app: FastifyInstance, webhooks: KindService) {
      const collection = (webhookId: string): string =>
        `${kindHref(apiBase, webhookKind, webhookId)}/deliveries`;
      const presented = (row: KindRow) => ({
        ...present(row),
        href: `${collection(String(row.webhook_id))}/${row.id}`,
      });
      const params = (request: FastifyRequest) => request.params as { id: string; delivery_id?: string };
      const common = { tags: [webhookKind.plural], security: [{ Bearer: [] }] };

      defineResource(app, `${kindHref(apiBase, webhookKind)}/:id/deliveries`, {
        GET: {
          schema: {
            ...common,
            summary: "List a webhook's deliveries",
            params: Type.Object({ id: Type.String() }),
            response: { 200: { $ref: `${deliveryKind.name}List#` }, ...errorResponses },
          },
          config: { kind: webhookKind.name, verb: 'list' },
          handler: async (request) => {
            const { id } = params(request);
            const { page, size, where, orderBy } = parseListQuery(
              request.query as Record<string, unknown>,
              listable,
            );
            await webhooks.get(id);
            const mine = sql<SqlBool>`webhook_deliveries.webhook_id = ${id}`;
            const { rows, total } = await dao.list(db, {
              where: where ? sql<SqlBool>`${mine} and (${where})` : mine,
              orderBy,
              offset: (page - 1) * size,
              limit: size,
            });
            return {
              kind: `${deliveryKind.name}List`,
              page,
              size: rows.length,
              total,
              items: rows.map(presented),
            };
          },
        },
      });

      defineResource(app, `${kindHref(apiBase, webhookKind)}/:id/deliveries/:delivery_id`, {
        GET: {
          schema: {
            ...common,
            summary: 'Get a delivery of a webhook',
            params: Type.Object({ id: Type.String(), delivery_id: Type.String() }),
            response: { 200: { $ref: `${deliveryKind.name}#` }, ...errorResponses },
          },
          config: { kind: webhookKind.name, verb: 'get' },
          handler: async (request) => {
            const { id, delivery_id: deliveryId = '' } = params(request);
            await webhooks.get(id);
            const row = deliveryId.includes('\u0000') ? undefined : await dao.find(db, deliveryId);
            if (!row || row.webhook_id !== id) {
              throw notFound(`${deliveryKind.name} with id='${deliveryId}' not found`);
            }
            return presented(row);
          },
        },
      });
    },
  };
}
