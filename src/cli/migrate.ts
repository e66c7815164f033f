import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { terminalSteps } from '../observability/progress.ts';
import { addOptions, commandLogger, rawOptions } from './options.ts';

export function migrateCommand(program: Command): void {
  addOptions(
    program
      .command('migrate')
      .summary('Apply pending database migrations (safe to run concurrently)')
      .description(
        'Apply pending database migrations under a PostgreSQL advisory lock, so replicas may run it at once; ' +
          'a database already up to date is left alone. Every flag can also be set by its TREX_* variable.',
      ),
    'migrate',
  ).action(async (values: Record<string, unknown>) => {
    const config = loadConfig('migrate', rawOptions(values), process.env);
    // The work is imported when the command runs, so help and usage errors answer without loading it.
    const [{ connectDatabase }, { migrations }, { migrateToLatest }] = await Promise.all([
      import('../app/database.ts'),
      import('../app/migrations.ts'),
      import('../db/migrator.ts'),
    ]);
    const logger = commandLogger(config);
    const database = await connectDatabase(config, logger, terminalSteps());
    try {
      const { applied } = await migrateToLatest(database.db, migrations);
      logger.info({ applied }, applied.length > 0 ? 'migrations applied' : 'database is up to date');
    } finally {
      await database.close();
    }
  });
}
