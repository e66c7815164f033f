import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cloneProject } from '../generator/clone.ts';

// `trex clone --name my-service --destination DIR` (SPEC §9).
export function cloneCommand(program: Command): void {
  program
    .command('clone')
    .description('Copy this project into DIR as a new service called NAME')
    .requiredOption('--name <name>', 'the new service name, e.g. my-service')
    .requiredOption('--destination <dir>', 'where the copy goes (new or empty)')
    .action((options: { name: string; destination: string }) => {
      const destination = resolve(options.destination);
      const count = cloneProject({ root: process.cwd(), name: options.name, destination });
      process.stdout.write(
        `cloned ${count} files into ${destination}\nnext: cd ${destination} && npm ci && npm test\n`,
      );
    });
}
