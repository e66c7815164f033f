import { currentContext } from '../../context/request-context.ts';
import type { EventRecord } from '../../events/controllers.ts';
import { listableSources } from '../framework/caller-access.ts';
import { definePlugin } from '../framework/plugin.ts';
import { wakeDispatcher, webhookDeliveries } from './background.ts';
import { deliveriesRoutes } from './deliveries-routes.ts';
import { pingPayload } from './delivery-actions.ts';
import { deliveryKind } from './delivery-kind.ts';
import { cancelPendingDeliveries, ping, redeliver } from './delivery-queue.ts';
import { createWebhooks } from './migrations/202611251701_create_webhooks.ts';
import { addDeliveryClaims } from './migrations/202612061501_add_delivery_claims.ts';
import { addWebhookOwner } from './migrations/202612061800_add_webhook_owner.ts';
import { addWebhookTenant } from './migrations/202612061902_add_webhook_tenant.ts';
import { addPreviousSecret } from './migrations/202612061910_add_previous_secret.ts';
import { addDeliveryDiagnostics } from './migrations/202612061920_add_delivery_diagnostics.ts';
import { addRedeliveries } from './migrations/202612061930_add_redeliveries.ts';
import { addWebhookHealth } from './migrations/202612061940_add_webhook_health.ts';
import { addDeliveryRetention } from './migrations/202612062010_add_delivery_retention.ts';
import { webhookKind } from './model.ts';
import { webhookRules } from './rules.ts';
import { webhookSecretKeys } from './secret-keys.ts';

// Webhooks are a Kind like any other (the same routes and contract), with rules on their target and
// filter, a deliveries sub-collection, and the background work that makes and sends deliveries.
export const webhookPlugin = definePlugin({
  kind: webhookKind,
  migrations: [
    createWebhooks,
    addDeliveryClaims,
    addWebhookOwner,
    addWebhookTenant,
    addPreviousSecret,
    addDeliveryDiagnostics,
    addRedeliveries,
    addWebhookHealth,
    addDeliveryRetention,
  ],
  rules: (context) => webhookRules(context.config.webhooks.allowedHosts, context.kinds),
  routes: (context) =>
    deliveriesRoutes(
      context.service,
      context.serviceFor(deliveryKind, {
        scope: () => listableSources(context.kinds, 'webhook_deliveries.source'),
      }),
      {
        redeliver: (webhookId, deliveryId) =>
          redeliver(context.database.db, webhookId, deliveryId, context.newId()),
        ping: async (webhook, presented) => {
          const id = context.newId();
          await ping(context.database.db, {
            id,
            webhookId: webhook.id,
            payload: pingPayload(webhook.id, presented),
          });
          return id;
        },
        wake: () => wakeDispatcher(context),
      },
    ),
  background: webhookDeliveries,
  // A webhook disabled or deleted sends nothing more: its pending deliveries are cancelled (the
  // dispatcher already claims none of them meanwhile). Decided from the webhook as it is now, so a
  // webhook enabled again before this runs keeps them.
  controllers: ({ service, database }) => {
    const cancelIfStopped = async (event: EventRecord): Promise<void> => {
      const webhook = await service.getIncludingDeleted(event.sourceId);
      if (webhook.deleted_at || !webhook.enabled) await cancelPendingDeliveries(database.db, webhook.id);
    };
    return { onUpsert: cancelIfStopped, onDelete: cancelIfStopped };
  },
  // Secrets are sealed at rest (secret-keys.ts): a dump of the database holds none.
  storedForms: ({ config }) => {
    const keys = webhookSecretKeys(config);
    const holds = (stored: string, secret: string): boolean => {
      try {
        return keys.open(stored) === secret;
      } catch {
        return false; // sealed with a key no longer in the file: the patch writes the secret anew
      }
    };
    const sealed = { store: keys.seal, holds };
    return { secret: sealed, previous_secret: sealed };
  },
  // The owner of a webhook is whoever last wrote it: its deliveries follow what the policy lets them list.
  stamps: () => ({
    owner_claims: () => {
      const caller = currentContext().caller;
      return caller ? JSON.stringify(caller.claims) : null;
    },
  }),
});
