import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cloneProject } from '../generator/clone.ts';
import { terminalSteps } from '../observability/progress.ts';

// `trex clone --name my-service --destination DIR` (docs/generator.md#starting-a-new-service-trex-clone).
export function cloneCommand(program: Command): void {
  program
    .command('clone')
    .summary('Copy this project into DIR as a new service called NAME')
    .description(
      'Copy this project (the files git tracks, or would) into DIR as a new service called NAME: the API ' +
        'root, the error code prefix, the service name constant and the package name change throughout.',
    )
    .requiredOption(
      '--name <name>',
      'The new service name: lower-case letters, digits and dashes, e.g. my-service',
    )
    .requiredOption('--destination <dir>', 'Where the copy goes: a new or empty directory')
    .addHelpText('after', '\nExample:\n  trex clone --name my-service --destination ../my-service')
    .action(async (options: { name: string; destination: string }) => {
      const destination = resolve(options.destination);
      const count = await terminalSteps()(`Copying the project into ${destination}`, () =>
        cloneProject({ root: process.cwd(), name: options.name, destination }),
      );
      process.stdout.write(
        `cloned ${count} files into ${destination}\nnext: cd ${destination} && npm ci && npm test\n`,
      );
    });
}
