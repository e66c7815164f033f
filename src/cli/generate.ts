import type { Command } from 'commander';
import { applyGeneration, planGeneration } from '../generator/generate.ts';

// `trex generate --kind Rocket --fields "name:string:required,fuel:float"` (SPEC §10, docs/generator.md).
export function generateCommand(program: Command): void {
  program
    .command('generate')
    .description('Add a Kind, or update a generated one to a new field list (docs/generator.md)')
    .requiredOption('--kind <Name>', 'the Kind, in PascalCase: Rocket, FizzBuzz')
    .requiredOption(
      '--fields <list>',
      'name:type[:required], comma-separated; types: string, int, int64, float, bool, time',
    )
    .option('--dry-run', 'list what would change, write nothing')
    .option('--force', 'go ahead even where hand edits or column values would be lost')
    .action(async (options: { kind: string; fields: string; dryRun?: boolean; force?: boolean }) => {
      const plan = await planGeneration({
        root: process.cwd(),
        kind: options.kind,
        fields: options.fields,
        force: options.force === true,
        now: new Date(),
      });
      for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
      for (const change of plan.changes) process.stdout.write(`${change.action.padEnd(6)} ${change.path}\n`);
      for (const statement of plan.migration) process.stdout.write(`  sql: ${statement}\n`);
      if (options.dryRun) {
        process.stdout.write('dry run: nothing written\n');
        return;
      }
      applyGeneration(process.cwd(), plan);
      process.stdout.write(`done: run \`npx trex migrate\` (or restart \`npm start\`), then \`npm test\`\n`);
    });
}
