import type { Command } from 'commander';
import { terminalSteps } from '../observability/progress.ts';

// `trex generate --kind Rocket --fields "name:string:required,fuel:float"` (docs/generator.md).
export function generateCommand(program: Command): void {
  program
    .command('generate')
    .summary('Add a Kind, or update a generated one to a new field list')
    .description(
      'Add a Kind (model, routes, migration, extensions, factory and tests), or update a generated one to ' +
        'a new field list with an ALTER migration. Hand-written code is never overwritten. Afterwards the ' +
        'OpenAPI document and the typed client are regenerated (npm run openapi). See docs/generator.md.',
    )
    .requiredOption('--kind <Name>', 'The Kind, in PascalCase: Rocket, FizzBuzz')
    .requiredOption(
      '--fields <list>',
      'name:type[:required|:optional], comma-separated; types: string, int, int64, float, bool, time',
    )
    .option('--dry-run', 'List what would change and the migration SQL, even when refused; write nothing')
    .option('--tenant-scoped', "Each row belongs to the tenant of its writer's token (with --tenant-claim)")
    .option('--force', 'Go ahead even where hand edits or column values would be lost')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  trex generate --kind Rocket --fields "name:string:required,fuel:float,launched_at:time"\n' +
        '  trex generate --kind Rocket --fields "name:string:required,stages:int" --dry-run',
    )
    .action(
      async (options: {
        kind: string;
        fields: string;
        dryRun?: boolean;
        force?: boolean;
        tenantScoped?: boolean;
      }) => {
        const root = process.cwd();
        const step = terminalSteps();
        // The work is imported when the command runs, so help and usage errors answer without loading it.
        const [{ applyGeneration, planGeneration, refusal }, { regenerateOpenApi }, { GeneratorError }] =
          await Promise.all([
            import('../generator/generate.ts'),
            import('../generator/openapi-regeneration.ts'),
            import('../generator/errors.ts'),
          ]);
        const plan = await planGeneration({
          root,
          kind: options.kind,
          fields: options.fields,
          tenantScoped: options.tenantScoped === true,
          now: new Date(),
        });
        const refused = refusal(plan, options.force === true);
        // A dry run shows the whole plan, even one that would be refused; a refused run writes nothing.
        if (options.dryRun || !refused) {
          for (const change of plan.changes)
            process.stdout.write(`${change.action.padEnd(6)} ${change.path}\n`);
          for (const statement of plan.migration) process.stdout.write(`  sql: ${statement}\n`);
        }
        if (refused) throw new GeneratorError(refused);
        for (const loss of plan.losses) process.stderr.write(`warning: ${loss}\n`);
        if (options.dryRun) {
          process.stdout.write('dry run: nothing written\n');
          return;
        }
        await step(`Writing and formatting ${plan.changes.length} files`, () => applyGeneration(root, plan));
        const regenerated = await step('Regenerating the OpenAPI document and the typed client', () =>
          regenerateOpenApi(root),
        );
        if (regenerated) process.stdout.write('update openapi/openapi.yaml, src/client/schema.ts\n');
        process.stdout.write(
          `done: run \`npx trex migrate\` (or restart \`npm start\`), then \`npm test\`\n`,
        );
      },
    );
}
