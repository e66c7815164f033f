import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateToLatest } from '../db/migrator.ts';
import { type DatabaseHandle, openDatabase } from '../db/pool.ts';
import type { QuerySpan } from '../db/traced-dialect.ts';
import { quietStep, type Step } from '../observability/progress.ts';
import { migrations } from './migrations.ts';

export interface ConnectedDatabase extends DatabaseHandle {
  readonly embedded: boolean;
}

// Opens the configured database, or starts the embedded one (development) and migrates it, so
// `npm start` on a fresh clone needs nothing else. `step` shows the embedded database's first start.
export async function connectDatabase(
  config: Config,
  logger: Logger,
  step: Step = quietStep,
  querySpan?: QuerySpan,
): Promise<ConnectedDatabase> {
  const embedded =
    config.database.kind === 'embedded'
      ? await startEmbeddedPostgres(config.database.dir, logger, step)
      : undefined;
  const url = config.database.kind === 'url' ? config.database.url : (embedded?.url ?? '');
  const settings = { ...config.db, url };
  if (embedded) {
    // Migrations may take long: they run without the query and lock timeouts, on connections of their own.
    const migrator = openDatabase(
      { ...settings, maxConnections: 1, queryTimeoutMs: 0, lockTimeoutMs: 0 },
      logger,
    );
    try {
      const { applied } = await migrateToLatest(migrator.db, migrations);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } catch (error) {
      // The command fails; the database it started must not outlive it.
      await migrator.close();
      await embedded.stop();
      throw error;
    }
    await migrator.close();
  }
  const handle = openDatabase(settings, logger, querySpan);
  return {
    ...handle,
    embedded: embedded !== undefined,
    close: async () => {
      await handle.close();
      await embedded?.stop();
    },
  };
}
