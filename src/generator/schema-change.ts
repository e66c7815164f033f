import { type FieldType, prefixIndexLength, sqlTypes } from '../kinds/framework/fields.ts';
import { GeneratorError } from './errors.ts';
import type { FieldSpec } from './field-spec.ts';

export interface SchemaChange {
  readonly statements: readonly string[];
  // What applying the change would lose or rewrite; refused without --force.
  readonly losses: readonly string[];
}

// What an existing row gets when a required column is added, or a column becomes required. A
// reference has no such value: no row is referenced by every existing row.
const zeroValues: Readonly<Record<Exclude<FieldType, 'ref'>, string>> = {
  string: "''",
  int: '0',
  int64: '0',
  float: '0',
  bool: 'false',
  time: "'epoch'",
};

// The column's type and, for a reference, its foreign key. Soft deletes never fire ON DELETE; the
// restrict here guards hard deletes made by hand.
export function columnType({ type, target }: FieldSpec): string {
  return target ? `${sqlTypes[type]} references "${target.plural}" (id) on delete restrict` : sqlTypes[type];
}

// A reference is looked up from the referenced row's side (the delete rule, joins from a search on the
// related Kind), so it gets an index.
export function referenceIndex(plural: string, { name }: FieldSpec): string {
  return `create index "${plural}_${name}" on "${plural}" ("${name}")`;
}

// An indexed field's indexes (docs/performance.md#big-tables), over live rows as lists read them. Text
// gets a hash index (=, in; it takes values of any length), a prefix index (like 'abc%') and an order
// index (orderBy), both over its first characters; other types a btree (=, ranges, orderBy).
export function searchIndexes(plural: string, { name, type }: FieldSpec): string[] {
  if (type !== 'string') {
    return [`create index "${plural}_${name}" on "${plural}" ("${name}", id) where deleted_at is null`];
  }
  return [
    `create index "${plural}_${name}" on "${plural}" using hash ("${name}") where deleted_at is null`,
    `create index "${plural}_${name}_prefix" on "${plural}" (left("${name}", ${prefixIndexLength}) text_pattern_ops) where deleted_at is null`,
    `create index "${plural}_${name}_order" on "${plural}" (left("${name}", ${prefixIndexLength})) where deleted_at is null`,
  ];
}

function dropSearchIndexes(plural: string, field: FieldSpec): string[] {
  const names =
    field.type === 'string'
      ? [`${plural}_${field.name}`, `${plural}_${field.name}_prefix`, `${plural}_${field.name}_order`]
      : [`${plural}_${field.name}`];
  return names.map((index) => `drop index if exists "${index}"`);
}

function zeroValue(plural: string, field: FieldSpec): string {
  if (field.type === 'ref') {
    throw new GeneratorError(
      `'${field.name}' cannot become a required reference of the existing ${plural}: their rows have no value for it; add it optional, fill it in, then make it required by hand`,
    );
  }
  return zeroValues[field.type];
}

// The ALTER TABLE statements that take a Kind's table from one field list to another. Names are quoted,
// so a field may be called `order` or `user`.
export function schemaChange(
  plural: string,
  before: readonly FieldSpec[],
  after: readonly FieldSpec[],
): SchemaChange {
  const statements: string[] = [];
  const losses: string[] = [];
  const alter = `alter table "${plural}"`;
  const next = new Map(after.map((field) => [field.name, field]));
  const add = (field: FieldSpec): void => {
    const { name, required } = field;
    if (required) {
      // Existing rows need a value: they get the type's zero, then the default is dropped again.
      statements.push(
        `${alter} add column "${name}" ${columnType(field)} not null default ${zeroValue(plural, field)}`,
      );
      statements.push(`${alter} alter column "${name}" drop default`);
    } else {
      statements.push(`${alter} add column "${name}" ${columnType(field)}`);
    }
    if (field.target) statements.push(referenceIndex(plural, field));
    if (field.indexed) statements.push(...searchIndexes(plural, field));
  };

  for (const field of before) {
    const { name, type } = field;
    const replacement = next.get(name);
    if (!replacement) {
      statements.push(`${alter} drop column "${name}"`);
      losses.push(`dropping field '${name}' deletes its values`);
    } else if (replacement.type !== type || replacement.target?.name !== field.target?.name) {
      // Dropping the column drops its foreign key and index with it.
      statements.push(`${alter} drop column "${name}"`);
      add(replacement);
      losses.push(
        `changing '${name}' from ${describe(field)} to ${describe(replacement)} deletes its values`,
      );
    } else if (replacement.required && !field.required) {
      const zero = zeroValue(plural, field);
      statements.push(`update "${plural}" set "${name}" = ${zero} where "${name}" is null`);
      statements.push(`${alter} alter column "${name}" set not null`);
      losses.push(`making '${name}' required replaces its null values with ${zero}`);
    } else if (!replacement.required && field.required) {
      statements.push(`${alter} alter column "${name}" drop not null`);
    }
    // The same column, indexed now or no longer (a new type's column was added with its indexes above).
    if (replacement && replacement.type === type && replacement.target?.name === field.target?.name) {
      if (replacement.indexed && !field.indexed) statements.push(...searchIndexes(plural, replacement));
      if (!replacement.indexed && field.indexed) statements.push(...dropSearchIndexes(plural, field));
    }
  }
  const old = new Set(before.map((field) => field.name));
  for (const field of after) if (!old.has(field.name)) add(field);
  return { statements, losses };
}

function describe({ type, target }: FieldSpec): string {
  return target ? `ref to ${target.name}` : type;
}

// A tenant-scoped Kind's tenant column, the index its lists use (every list of a tenant is one range of
// it), and its events so far, which belong to no tenant ('') as its rows do until a migration fills both
// (docs/auth.md#tenants).
export function tenantColumn(table: string, eventSource: string): string[] {
  return [
    `alter table "${table}" add column tenant_id text not null default ''`,
    `create index "${table}_tenant_live_order" on "${table}" (tenant_id, created_at, id) where deleted_at is null`,
    `update events set tenant_id = '' where source = '${eventSource}' and tenant_id is null`,
  ];
}
