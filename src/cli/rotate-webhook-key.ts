import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { terminalSteps } from '../observability/progress.ts';
import { addOptions, commandLogger, rawOptions } from './options.ts';

// `trex rotate-webhook-key`: the middle step of a key rotation (docs/webhooks.md#secrets-at-rest).
export function rotateWebhookKeyCommand(program: Command): void {
  addOptions(
    program
      .command('rotate-webhook-key')
      .summary('Seal every webhook secret with the first key of --webhook-secret-key-file')
      .description(
        'Seal every webhook secret with the first key of --webhook-secret-key-file: those sealed with an ' +
          'older key of the file, and those stored before secrets were sealed. Safe beside a serving ' +
          'service, and to run again. Every flag can also be set by its TREX_* variable.',
      ),
    'rotate-webhook-key',
  ).action(async (values: Record<string, unknown>) => {
    const config = loadConfig('rotate-webhook-key', rawOptions(values), process.env);
    // The work is imported when the command runs, so help and usage errors answer without loading it.
    const [{ connectDatabase }, { webhookSecretKeys }, { resealWebhookSecrets }] = await Promise.all([
      import('../app/database.ts'),
      import('../kinds/webhooks/secret-keys.ts'),
      import('../kinds/webhooks/reseal.ts'),
    ]);
    const keys = webhookSecretKeys(config);
    const logger = commandLogger(config);
    const database = await connectDatabase(config, logger, terminalSteps());
    try {
      const resealed = await resealWebhookSecrets(database.db, keys);
      logger.info({ resealed, key: keys.current }, 'webhook secrets sealed with the current key');
    } finally {
      await database.close();
    }
  });
}
