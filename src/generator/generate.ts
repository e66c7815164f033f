import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { KindDefinition } from '../kinds/framework/kind.ts';
import { GeneratorError } from './errors.ts';
import { type FieldSpec, parseFieldSpecs } from './field-spec.ts';
import { fileState, formatAndStamp } from './generated-files.ts';
import { type KindNames, kindNames } from './names.ts';
import { addPluginEntry } from './plugin-list.ts';
import { schemaChange, tenantColumn } from './schema-change.ts';
import {
  alterMigrationFile,
  createMigrationFile,
  extensionsFile,
  factoryFile,
  modelFile,
  pluginFile,
  testFile,
} from './templates.ts';

export interface GenerateOptions {
  readonly root: string; // the project
  readonly kind: string;
  readonly fields: string;
  // Whether the Kind's rows belong to tenants (--tenant-scoped); an existing tenant-scoped Kind stays so.
  readonly tenantScoped: boolean;
  readonly now: Date;
}

export interface FileChange {
  readonly path: string; // relative to the project
  readonly action: 'create' | 'update';
  readonly content: string;
}

export interface GenerationPlan {
  readonly changes: readonly FileChange[];
  readonly migration: readonly string[]; // the SQL of the new migration, if any
  readonly losses: readonly string[]; // what would lose a person's work or data: refused without --force
}

const pluginList = 'src/kinds/plugins.ts';

// Works out every file `trex generate` would write, and what of a person's work or data that would lose
// (`refusal` says whether it may go ahead); writes nothing.
export async function planGeneration(options: GenerateOptions): Promise<GenerationPlan> {
  const names = kindNames(options.kind);
  const fields = parseFieldSpecs(options.fields);
  if (fields.length === 0)
    throw new GeneratorError('--fields must name at least one field, e.g. "name:string:required"');
  const folder = `src/kinds/${names.plural}`;
  for (const { name, target } of fields) {
    if (!target) continue;
    if (target.name === names.name)
      throw new GeneratorError(`field '${name}': a Kind made by the generator cannot reference itself`);
    if (!existsSync(join(options.root, 'src/kinds', target.plural, 'model.ts')))
      throw new GeneratorError(
        `field '${name}' references ${target.name}, but there is no src/kinds/${target.plural}/model.ts`,
      );
  }
  const existing = await existingKind(options.root, folder, names);
  const previous = existing?.fields;
  const tenantScoped = options.tenantScoped || existing?.tenantScoped === true;
  // Everything that would lose work or data, reported together; --force lets it through.
  const losses: string[] = [];
  const refuse = (reason: string): void => {
    losses.push(reason);
  };

  const migrationsDir = join(options.root, folder, 'migrations');
  const migrationIds = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .filter((file) => file.endsWith('.ts'))
        .map((file) => file.slice(0, -3))
        .sort()
    : [];
  const changes: FileChange[] = [];
  let migration: string[] = [];
  if (previous === undefined) {
    const id = `${nextMigrationStamp(options.root, options.now)}_create_${names.plural}`;
    migration = [`create table ${names.plural} (...)`];
    changes.push({
      path: `${folder}/migrations/${id}.ts`,
      action: 'create',
      content: createMigrationFile(names, id, fields, tenantScoped),
    });
    migrationIds.push(id);
  } else {
    const change = schemaChange(names.plural, previous, fields);
    for (const loss of change.losses) refuse(loss);
    const statements = [
      ...change.statements,
      ...(tenantScoped && !existing?.tenantScoped ? tenantColumn(names.plural, names.eventSource) : []),
    ];
    if (statements.length > 0) {
      const id = `${nextMigrationStamp(options.root, options.now)}_alter_${names.plural}`;
      migration = statements;
      changes.push({
        path: `${folder}/migrations/${id}.ts`,
        action: 'create',
        content: alterMigrationFile(id, statements),
      });
      migrationIds.push(id);
    }
  }

  const generated: [string, string][] = [
    [`${folder}/model.ts`, modelFile(names, fields, tenantScoped)],
    [`${folder}/plugin.ts`, pluginFile(names, migrationIds)],
    [`test/support/factories/${names.plural}.ts`, factoryFile(names, fields)],
    [`test/integration/${names.plural}.test.ts`, testFile(names, fields)],
  ];
  for (const [path, content] of generated) {
    const state = fileState(join(options.root, path));
    if (state === 'edited')
      refuse(`${path} was edited by hand since it was generated; regenerating it loses those edits`);
    if (state === 'hand-written') refuse(`${path} was written by hand; generating would replace it`);
    changes.push({ path, action: state === 'missing' ? 'create' : 'update', content });
  }
  if (fileState(join(options.root, folder, 'extensions.ts')) === 'missing') {
    const legacyControllers = fileState(join(options.root, folder, 'controllers.ts')) !== 'missing';
    changes.push({
      path: `${folder}/extensions.ts`,
      action: 'create',
      content: extensionsFile(names, legacyControllers),
    });
  }
  const plugins = readFileSync(join(options.root, pluginList), 'utf8');
  const withKind = addPluginEntry(plugins, names);
  if (withKind !== plugins) changes.push({ path: pluginList, action: 'update', content: withKind });
  return { changes, migration, losses };
}

// One line saying why the plan is refused, or undefined when it may go ahead.
export function refusal(plan: GenerationPlan, force: boolean): string | undefined {
  if (plan.losses.length === 0 || force) return undefined;
  return `refused: ${plan.losses.join('; ')} (use --force to go ahead)`;
}

export function applyGeneration(root: string, plan: GenerationPlan): void {
  for (const change of plan.changes) {
    const path = join(root, change.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, change.content);
  }
  formatAndStamp(
    root,
    plan.changes.map((change) => join(root, change.path)),
  );
}

// The fields of the Kind already in `folder`, and whether it is tenant-scoped, read from its model;
// undefined for a new Kind.
async function existingKind(
  root: string,
  folder: string,
  names: KindNames,
): Promise<{ fields: FieldSpec[]; tenantScoped: boolean } | undefined> {
  const modelPath = join(root, folder, 'model.ts');
  if (!existsSync(join(root, folder))) return undefined;
  if (!existsSync(modelPath))
    throw new GeneratorError(
      `${folder} exists but has no model.ts: it is not a Kind the generator can update`,
    );
  // Through tsx, as TypeScript: the compiled command (dist/) runs on plain Node, which loads no .ts file.
  const module = (await tsImport(pathToFileURL(modelPath).href, import.meta.url)) as Record<string, unknown>;
  const kind = Object.values(module).find(isKindDefinition);
  if (!kind || kind.name !== names.name) {
    throw new GeneratorError(`${folder} holds the Kind '${kind?.name ?? 'unknown'}', not '${names.name}'`);
  }
  const fields = Object.entries(kind.fields).map(([name, field]) => ({
    name,
    type: field.type,
    required: field.required,
    ...(field.type !== 'ref' && field.indexed ? { indexed: true } : {}),
    ...(field.type === 'ref' ? { target: kindNames(field.target().name) } : {}),
  }));
  return { fields, tenantScoped: kind.tenantScoped === true };
}

function isKindDefinition(value: unknown): value is KindDefinition {
  return (
    typeof value === 'object' && value !== null && 'plural' in value && 'fields' in value && 'name' in value
  );
}

// `YYYYMMDDHHMM` of now, or one minute after the newest migration of the project, whichever is later,
// so a new migration always sorts last.
function nextMigrationStamp(root: string, now: Date): string {
  const stamps = migrationFiles(join(root, 'src')).map((file) => file.slice(0, 12));
  const newest = stamps.sort().at(-1);
  let candidate = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  if (newest && stampOf(candidate) <= newest) candidate = new Date(dateOf(newest).getTime() + 60_000);
  return stampOf(candidate);
}

function migrationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(
      (entry) =>
        entry.isFile() && /^\d{12}_.*\.ts$/.test(entry.name) && entry.parentPath.endsWith('migrations'),
    )
    .map((entry) => entry.name);
}

function stampOf(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 12);
}

function dateOf(stamp: string): Date {
  return new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:00Z`,
  );
}
