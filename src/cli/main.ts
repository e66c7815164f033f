import { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { GeneratorError } from '../generator/errors.ts';
import { serviceName } from '../service-name.ts';
import { cloneCommand } from './clone.ts';
import { generateCommand } from './generate.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import { tokenCommand } from './token.ts';

const program = new Command('trex').description(`TRex: the ${serviceName} service and its tools`);
program.showHelpAfterError();
serveCommand(program);
migrateCommand(program);
tokenCommand(program);
generateCommand(program);
cloneCommand(program);

// Every failure is one clear line and a non-zero exit; details are in the logs.
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`trex: ${message}\n`);
  process.exit(error instanceof ConfigError || error instanceof GeneratorError ? 2 : 1);
}
