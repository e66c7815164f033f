import { type FieldType, sqlTypes } from '../kinds/framework/fields.ts';
import type { FieldSpec } from './field-spec.ts';

export interface SchemaChange {
  readonly statements: readonly string[];
  // What applying the change would lose or rewrite; refused without --force.
  readonly losses: readonly string[];
}

// What a new existing row gets when a required column is added, or a column becomes required.
const zeroValues: Readonly<Record<FieldType, string>> = {
  string: "''",
  int: '0',
  int64: '0',
  float: '0',
  bool: 'false',
  time: "'epoch'",
};

// The ALTER TABLE statements that take a Kind's table from one field list to another.
export function schemaChange(
  table: string,
  before: readonly FieldSpec[],
  after: readonly FieldSpec[],
): SchemaChange {
  const statements: string[] = [];
  const losses: string[] = [];
  const old = new Map(before.map((field) => [field.name, field]));
  const next = new Map(after.map((field) => [field.name, field]));
  const add = (field: FieldSpec): void => {
    if (field.required) {
      // Existing rows need a value: they get the type's zero, then the default is dropped again.
      statements.push(
        `alter table ${table} add column ${field.name} ${sqlTypes[field.type]} not null default ${zeroValues[field.type]}`,
      );
      statements.push(`alter table ${table} alter column ${field.name} drop default`);
    } else {
      statements.push(`alter table ${table} add column ${field.name} ${sqlTypes[field.type]}`);
    }
  };

  for (const field of before) {
    const replacement = next.get(field.name);
    if (!replacement) {
      statements.push(`alter table ${table} drop column ${field.name}`);
      losses.push(`dropping field '${field.name}' deletes its values`);
    } else if (replacement.type !== field.type) {
      statements.push(`alter table ${table} drop column ${field.name}`);
      add(replacement);
      losses.push(`changing '${field.name}' from ${field.type} to ${replacement.type} deletes its values`);
    } else if (replacement.required && !field.required) {
      statements.push(
        `update ${table} set ${field.name} = ${zeroValues[field.type]} where ${field.name} is null`,
      );
      statements.push(`alter table ${table} alter column ${field.name} set not null`);
      losses.push(`making '${field.name}' required replaces its null values with ${zeroValues[field.type]}`);
    } else if (!replacement.required && field.required) {
      statements.push(`alter table ${table} alter column ${field.name} drop not null`);
    }
  }
  for (const field of after) if (!old.has(field.name)) add(field);
  return { statements, losses };
}
