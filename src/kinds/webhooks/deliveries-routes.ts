import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type SqlBool, sql } from 'kysely';
import { Type } from 'typebox';
import { notFound } from '../../errors/catalogue.ts';
import { exampleId } from '../../http/openapi-examples.ts';
import { errorResponses, notFoundResponse } from '../../http/openapi-responses.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import type { KindRow } from '../framework/kind.ts';
import { countApplied, countPreference, nextLink, parseListQuery } from '../framework/list-params.ts';
import { kindListable } from '../framework/listable.ts';
import type { KindRoutes } from '../framework/plugin.ts';
import { createPresenter, kindHref } from '../framework/presenter.ts';
import { listHeaders, listQuery, listResponseHeaders } from '../framework/routes.ts';
import { kindSchemas } from '../framework/schemas.ts';
import type { KindService } from '../framework/service.ts';
import { type DeliveryActions, registerDeliveryActions } from './delivery-actions.ts';
import { deliveryKind } from './delivery-kind.ts';
import { webhookKind } from './model.ts';

const schemas = kindSchemas(deliveryKind, apiBase);
const webhookId = Type.String({ description: 'The webhook id (KSUID)', examples: [exampleId] });
// The list parameters this list honours (it returns whole deliveries: no `fields`).
const { page, size, search, orderBy, cursor } = listQuery.properties;
const notFound404 = notFoundResponse(`${webhookKind.name} with id='${exampleId}' not found`);
const listable = kindListable(deliveryKind);
const present = createPresenter(apiBase, deliveryKind);

// `/webhooks/{id}/deliveries` and `/webhooks/{id}/deliveries/{delivery_id}`: read, with the list semantics
// of every collection, for a webhook that exists; and the deliveries made by hand (delivery-actions.ts).
export function deliveriesRoutes(
  webhooks: KindService<typeof webhookKind.fields>,
  deliveries: KindService<typeof deliveryKind.fields>,
  actions: DeliveryActions,
): KindRoutes {
  return {
    schemas: [schemas.resource, schemas.list],
    register(app: FastifyInstance) {
      registerDeliveryActions(app, webhooks, deliveries, actions);
      const collection = (webhookId: string): string =>
        `${kindHref(apiBase, webhookKind, webhookId)}/deliveries`;
      const presented = (row: KindRow<typeof deliveryKind.fields>) => ({
        ...present(row),
        href: `${collection(row.webhook_id)}/${row.id}`,
      });
      const params = (request: FastifyRequest) => request.params as { id: string; delivery_id?: string };
      const common = { tags: [webhookKind.plural], security: [{ Bearer: [] }] };

      defineResource(app, `${kindHref(apiBase, webhookKind)}/:id/deliveries`, {
        GET: {
          schema: {
            ...common,
            operationId: 'listWebhookDeliveries',
            summary: "List a webhook's deliveries",
            params: Type.Object({ id: webhookId }),
            querystring: Type.Object({ page, size, search, orderBy, cursor }),
            headers: listHeaders,
            response: {
              200: {
                description: 'A page of the deliveries',
                $ref: `${deliveryKind.name}List#`,
                headers: listResponseHeaders,
              },
              ...errorResponses(400, 401, 403, 500, 503),
              ...notFound404,
            },
          },
          config: { kind: webhookKind.name, verb: 'list' },
          handler: async (request, reply) => {
            const { id } = params(request);
            const { page, size, where, orderBy, after } = parseListQuery(
              request.query as Record<string, unknown>,
              listable,
            );
            await webhooks.get(id);
            const mine = sql<SqlBool>`webhook_deliveries.webhook_id = ${id}`;
            const preference = countPreference(request.headers.prefer);
            const { rows, total, estimated, next } = await deliveries.list({
              where: where ? sql<SqlBool>`${mine} and (${where})` : mine,
              orderBy,
              offset: (page - 1) * size,
              limit: size,
              after,
              ...(preference ? { count: { mode: preference, limit: 0 } } : {}),
            });
            reply.header('Preference-Applied', countApplied(estimated));
            if (next) reply.header('Link', nextLink(request.url, next));
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
            operationId: 'getWebhookDelivery',
            summary: 'Get a delivery of a webhook',
            params: Type.Object({
              id: webhookId,
              delivery_id: Type.String({ description: 'The delivery id (KSUID)', examples: [exampleId] }),
            }),
            response: {
              200: { description: 'The delivery', $ref: `${deliveryKind.name}#` },
              ...errorResponses(401, 403, 500, 503),
              ...notFound404,
            },
          },
          config: { kind: webhookKind.name, verb: 'get' },
          handler: async (request) => {
            const { id, delivery_id: deliveryId = '' } = params(request);
            await webhooks.get(id);
            const row = await deliveries.get(deliveryId);
            if (row.webhook_id !== id) {
              throw notFound(`${deliveryKind.name} with id='${deliveryId}' not found`);
            }
            return presented(row);
          },
        },
      });
    },
  };
}
