import { currentContext } from '../../context/request-context.ts';
import { listableSources } from '../framework/caller-access.ts';
import { definePlugin } from '../framework/plugin.ts';
import { webhookDeliveries } from './background.ts';
import { deliveriesRoutes } from './deliveries-routes.ts';
import { deliveryKind } from './delivery-kind.ts';
import { createWebhooks } from './migrations/202611251701_create_webhooks.ts';
import { addDeliveryClaims } from './migrations/202612061501_add_delivery_claims.ts';
import { addWebhookOwner } from './migrations/202612061800_add_webhook_owner.ts';
import { addWebhookTenant } from './migrations/202612061902_add_webhook_tenant.ts';
import { addPreviousSecret } from './migrations/202612061910_add_previous_secret.ts';
import { webhookKind } from './model.ts';
import { webhookRules } from './rules.ts';

// Webhooks are a Kind like any other (the same routes and contract), with rules on their target and
// filter, a deliveries sub-collection, and the background work that makes and sends deliveries.
export const webhookPlugin = definePlugin({
  kind: webhookKind,
  migrations: [createWebhooks, addDeliveryClaims, addWebhookOwner, addWebhookTenant, addPreviousSecret],
  rules: (context) => webhookRules(context.config.webhooks.allowedHosts, context.kinds),
  routes: (context) =>
    deliveriesRoutes(
      context.service,
      context.serviceFor(deliveryKind, {
        scope: () => listableSources(context.kinds, 'webhook_deliveries.source'),
      }),
    ),
  background: webhookDeliveries,
  // The owner of a webhook is whoever last wrote it: its deliveries follow what the policy lets them list.
  stamps: () => ({
    owner_claims: () => {
      const caller = currentContext().caller;
      return caller ? JSON.stringify(caller.claims) : null;
    },
  }),
});
