import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { terminalSteps } from '../observability/progress.ts';
import { addOptions, commandLogger, rawOptions } from './options.ts';

export function serveCommand(program: Command): void {
  addOptions(
    program
      .command('serve')
      .summary('Serve the API, health and metrics servers, and run the controllers')
      .description(
        'Serve the API, health and metrics servers and run the event controllers until SIGTERM or SIGINT, ' +
          'which stop accepting, let in-flight requests finish and exit 0. With no database configured, the ' +
          'development environment starts an embedded PostgreSQL under .trex/ and migrates it. ' +
          'Every flag can also be set by the TREX_* variable shown in brackets.',
      )
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  trex serve    # development: an embedded PostgreSQL, JWT off\n' +
          '  trex serve --db-url postgres://user@db:5432/trex --jwk-cert-url https://sso.example.com/certs',
      ),
    'serve',
  ).action(async (values: Record<string, unknown>) => {
    const config = loadConfig('serve', rawOptions(values), process.env);
    // The work is imported when the command runs, so help and usage errors answer without loading it.
    const { startService } = await import('../app/service.ts');
    const logger = commandLogger(config);
    const service = await startService(config, logger, {
      buildTime: process.env.TREX_BUILD_TIME,
      step: terminalSteps(),
    });
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
