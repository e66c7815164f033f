import { Command, CommanderError } from 'commander';
import { readBuildInfo } from '../app/build-info.ts';
import { ConfigError } from '../config/errors.ts';
import { GeneratorError } from '../generator/errors.ts';
import { serviceName } from '../service-name.ts';
import { cloneCommand } from './clone.ts';
import { generateCommand } from './generate.ts';
import { migrateCommand } from './migrate.ts';
import { rotateWebhookKeyCommand } from './rotate-webhook-key.ts';
import { serveCommand } from './serve.ts';
import { tokenCommand } from './token.ts';

// Exit codes: 0 done, 1 the work failed, 2 the command line or configuration is wrong.
const usageFailure = 2;

const program = new Command('trex')
  .description(`TRex: the ${serviceName} service and its tools`)
  .version(readBuildInfo(undefined).version, '-V, --version', 'Print the version')
  .helpOption('-h, --help', 'Show this help')
  .helpCommand('help [command]', 'Show help for a command')
  // Commander's own errors (unknown command or flag, missing value) are thrown, not printed, so that
  // every failure is reported the same way below: one line. Subcommands inherit both settings.
  .exitOverride()
  .configureOutput({ outputError: () => undefined })
  .addHelpText(
    'after',
    `
Environment: TREX_ENV (or OCM_ENV) is development (the default), unit_testing, integration_testing or
production. Every flag can also be set by its TREX_* variable; see \`trex serve --help\`.
Exit codes: 0 done, 1 failed, 2 bad command line or configuration. Docs: README.md and docs/.`,
  );
serveCommand(program);
migrateCommand(program);
tokenCommand(program);
rotateWebhookKeyCommand(program);
generateCommand(program);
cloneCommand(program);
const [first, second] = process.argv.slice(2);
try {
  if (first === 'help' && second !== undefined && !isCommand(second)) {
    throw new CommanderError(usageFailure, 'commander.unknownCommand', `unknown command '${second}'`);
  }
  // `trex` alone shows the help, as `trex --help` does.
  await program.parseAsync(process.argv.length > 2 ? process.argv : [...process.argv, '--help']);
} catch (error) {
  process.exit(report(error));
}

function isCommand(name: string): boolean {
  return program.commands.some((command) => command.name() === name);
}

// Every failure is one line on stderr and a non-zero exit; details are in the logs.
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version end this way too, having printed what was asked for.
    if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code)) return 0;
    const command = process.argv.slice(2).find(isCommand);
    fail(`${error.message.replace(/^error: /, '')} (see \`trex ${command ? `${command} ` : ''}--help\`)`);
    return usageFailure;
  }
  fail(error instanceof Error ? error.message : String(error));
  return error instanceof ConfigError || error instanceof GeneratorError ? usageFailure : 1;
}

function fail(message: string): void {
  const oneLine = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  process.stderr.write(`trex: ${oneLine}\n`);
}
