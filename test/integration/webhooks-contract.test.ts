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
  },
);
