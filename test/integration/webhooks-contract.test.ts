import { webhookKind } from '../../src/kinds/webhooks/model.ts';
import { validWebhook } from '../support/factories/webhooks.ts';
import { describeKindContract } from '../support/kind-contract.ts';

describeKindContract(
  webhookKind,
  validWebhook,
  {},
  {
    flags: { webhookAllowedHosts: '127.0.0.1' },
    constrained: ['url', 'sources', 'event_types', 'search'],
    // Its health, which the dispatcher keeps: these webhooks never receive a delivery.
    readOnlyValues: {
      status: 'active',
      consecutive_failures: 0,
      last_success_at: null,
      last_failure_at: null,
    },
  },
);
