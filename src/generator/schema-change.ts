import { type FieldType, sqlTypes } from '../kinds/framework/fields.ts';
import type { FieldSpec } from './field-spec.ts';

export interface SchemaChange {
  readonly statements: readonly string[];
  // What applying the change would lose or rewrite; refused without --force.
  readonly losses: readonly string[];
}

// What an existing row gets when a required column is added, or a column becomes required.
const zeroValues: Readonly<Record<FieldType, string>> = {
  string: "''",
  int: '0',
  int64: '0',
  float: '0',
  bool: 'false',
  time: "'epoch'",
};

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
  const add = ({ name, type, required }: FieldSpec): void => {
    if (required) {
      // Existing rows need a value: they get the type's zero, then the default is dropped again.
      statements.push(`${alter} add column "${name}" ${sqlTypes[type]} not null default ${zeroValues[type]}`);
      statements.push(`${alter} alter column "${name}" drop default`);
    } else {
      statements.push(`${alter} add column "${name}" ${sqlTypes[type]}`);
    }
  };

  for (const field of before) {
    const { name, type } = field;
    const replacement = next.get(name);
    if (!replacement) {
      statements.push(`${alter} drop column "${name}"`);
      losses.push(`dropping field '${name}' deletes its values`);
    } else if (replacement.type !== type) {
      statements.push(`${alter} drop column "${name}"`);
      add(replacement);
      losses.push(`changing '${name}' from ${type} to ${replacement.type} deletes its values`);
    } else if (replacement.required && !field.required) {
      statements.push(`update "${plural}" set "${name}" = ${zeroValues[type]} where "${name}" is null`);
      statements.push(`${alter} alter column "${name}" set not null`);
      losses.push(`making '${name}' required replaces its null values with ${zeroValues[type]}`);
    } else if (!replacement.required && field.required) {
      statements.push(`${alter} alter column "${name}" drop not null`);
    }
  }
  const old = new Set(before.map((field) => field.name));
  for (const field of after) if (!old.has(field.name)) add(field);
  return { statements, losses };
}
