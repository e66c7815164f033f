import { definePlugin } from '../framework/plugin.ts';
import { webhookDeliveries } from './background.ts';
import { deliveriesRoutes } from './deliveries-routes.ts';
import { deliveryKind } from './delivery-kind.ts';
import { createWebhooks } from './migrations/202611251701_create_webhooks.ts';
import { addDeliveryClaims } from './migrations/202612061501_add_delivery_claims.ts';
import { webhookKind } from './model.ts';
import { webhookRules } from './rules.ts';

// Webhooks are a Kind like any other (the same routes and contract), with rules on their target and
// filter, a deliveries sub-collection, and the background work that makes and sends deliveries.
export const webhookPlugin = definePlugin({
  kind: webhookKind,
  migrations: [createWebhooks, addDeliveryClaims],
  rules: (context) => webhookRules(context.config.webhooks.allowedHosts, context.kinds),
  routes: (context) => deliveriesRoutes(context.service, context.serviceFor(deliveryKind)),
  background: webhookDeliveries,
});
