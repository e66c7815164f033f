import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { currentContext } from '../../context/request-context.ts';
import { notFound } from '../../errors/catalogue.ts';
import { exampleId } from '../../http/openapi-examples.ts';
import { errorResponses, notFoundResponse } from '../../http/openapi-responses.ts';
import { defineResource } from '../../http/resource-routes.ts';
import { apiBase } from '../../service-name.ts';
import type { KindRow } from '../framework/kind.ts';
import { createPresenter, kindHref } from '../framework/presenter.ts';
import type { KindService } from '../framework/service.ts';
import { deliveryKind } from './delivery-kind.ts';
import { webhookKind } from './model.ts';

/** What the actions do to the deliveries table; each returns the new delivery's id. */
export interface DeliveryActions {
  /** A new delivery of what `deliveryId` sent; undefined when it is no delivery of the webhook. */
  redeliver(webhookId: string, deliveryId: string): Promise<string | undefined>;
  /** A test message to the webhook, with the webhook as its resource. */
  ping(webhook: KindRow<typeof webhookKind.fields>, presented: object): Promise<string>;
  /** Sends what was made at once, rather than at the next resync. */
  wake(): void;
}

const present = createPresenter(apiBase, deliveryKind);
const webhookPresenter = createPresenter(apiBase, webhookKind);
const created = {
  description: 'The new delivery, due at once',
  $ref: `${deliveryKind.name}#`,
  headers: { Location: { type: 'string', description: 'The path of the new delivery' } },
};

// `POST /webhooks/{id}/ping` and `POST /webhooks/{id}/deliveries/{delivery_id}/redeliver`: deliveries made
// by hand, sent as any other (signed, retried, in order). Each needs `update` on Webhook.
export function registerDeliveryActions(
  app: FastifyInstance,
  webhooks: KindService<typeof webhookKind.fields>,
  deliveries: KindService<typeof deliveryKind.fields>,
  actions: DeliveryActions,
): void {
  const item = (webhookId: string): string => kindHref(apiBase, webhookKind, webhookId);
  const common = { tags: [webhookKind.plural], security: [{ Bearer: [] }] };
  const config = { kind: webhookKind.name, verb: 'update' } as const;
  const webhookIdParam = Type.String({ description: 'The webhook id (KSUID)', examples: [exampleId] });
  const answer = async (reply: FastifyReply, webhookId: string, deliveryId: string): Promise<object> => {
    const row = await deliveries.get(deliveryId);
    actions.wake(); // once the answer is read: it shows the delivery as made, pending
    const href = `${item(webhookId)}/deliveries/${row.id}`;
    reply.code(201).header('location', href);
    return { ...present(row), href };
  };

  defineResource(app, `${kindHref(apiBase, webhookKind)}/:id/ping`, {
    POST: {
      schema: {
        ...common,
        operationId: 'pingWebhook',
        summary: 'Send the webhook a test message',
        params: Type.Object({ id: webhookIdParam }),
        response: {
          201: created,
          ...errorResponses(400, 401, 403, 415, 500, 503), // 400 and 415: a body that is sent is still read
          ...notFoundResponse(`${webhookKind.name} with id='${exampleId}' not found`),
        },
      },
      config,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const { id } = request.params as { id: string };
        const webhook = await webhooks.get(id);
        return await answer(reply, id, await actions.ping(webhook, webhookPresenter(webhook)));
      },
    },
  });

  defineResource(app, `${kindHref(apiBase, webhookKind)}/:id/deliveries/:delivery_id/redeliver`, {
    POST: {
      schema: {
        ...common,
        operationId: 'redeliverWebhookDelivery',
        summary: 'Send what a delivery sent again, as a new delivery',
        params: Type.Object({
          id: webhookIdParam,
          delivery_id: Type.String({ description: 'The delivery id (KSUID)', examples: [exampleId] }),
        }),
        response: {
          201: created,
          ...errorResponses(400, 401, 403, 415, 500, 503), // 400 and 415: a body that is sent is still read
          ...notFoundResponse(`${deliveryKind.name} with id='${exampleId}' not found`),
        },
      },
      config,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const { id, delivery_id: deliveryId } = request.params as { id: string; delivery_id: string };
        await webhooks.get(id);
        // Through the deliveries' service first: a delivery the caller may not see is not found.
        const original = await deliveries.get(deliveryId);
        const made = original.webhook_id === id ? await actions.redeliver(id, original.id) : undefined;
        if (!made) throw notFound(`${deliveryKind.name} with id='${deliveryId}' not found`);
        return await answer(reply, id, made);
      },
    },
  });
}

/** The body of a ping: an event of kind Ping about the webhook, which is its resource. */
export function pingPayload(webhookId: string, presented: object): string {
  const { actor, operationId } = currentContext();
  return JSON.stringify({
    event: {
      kind: 'Ping',
      source: webhookKind.eventSource,
      source_id: webhookId,
      event_type: 'Ping',
      created_at: new Date().toISOString(),
      actor,
      operation_id: operationId ?? null,
    },
    resource: presented,
  });
}
