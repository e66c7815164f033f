import type { Command } from 'commander';
import { startService } from '../app/service.ts';
import { loadConfig } from '../config/config.ts';
import { addOptions, commandLogger, rawOptions } from './options.ts';

export function serveCommand(program: Command): void {
  addOptions(
    program.command('serve').description('Serve the API, health and metrics servers'),
    'serve',
  ).action(async (values: Record<string, unknown>) => {
    const config = loadConfig('serve', rawOptions(values), process.env);
    const logger = commandLogger(config);
    const service = await startService(config, logger, { buildTime: process.env.TREX_BUILD_TIME });
    const shutdown = (signal: string): void => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
      service.stop().then(
        () => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
