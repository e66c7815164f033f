import type { Fields, FieldValue } from './fields.ts';
import { referenceSuffix, relationName } from './relations.ts';

// A Kind: the name clients see, its collection path and table, and its fields.
export interface KindDefinition<F extends Fields = Fields> {
  readonly name: string; // "Dinosaur": the `kind` of a resource
  readonly plural: string; // "dinosaurs": the collection path segment and the table name
  readonly eventSource: string; // "Dinosaurs": the `source` of its events
  readonly fields: F;
}

// Properties every resource has besides its fields.
export const commonProperties = ['id', 'kind', 'href', 'created_at', 'updated_at'] as const;

export function defineKind<F extends Fields>(definition: {
  name: string;
  plural: string;
  fields: F;
}): KindDefinition<F> {
  checkReferenceNames(definition);
  const eventSource = definition.plural.replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) =>
    letter.toUpperCase(),
  );
  return Object.freeze({ ...definition, eventSource });
}

// A relation is named after its field (`dinosaur_id` → `dinosaur`), and that name must be free: it
// becomes a property of the resource and a prefix in search, where it must not shadow a field, a
// common property or the Kind's own table name.
function checkReferenceNames(definition: { name: string; plural: string; fields: Fields }): void {
  for (const [field, { type }] of Object.entries(definition.fields)) {
    if (type !== 'ref') continue;
    const relation = relationName(field);
    const taken =
      Object.hasOwn(definition.fields, relation) ||
      (commonProperties as readonly string[]).includes(relation) ||
      relation === definition.plural;
    if (!field.endsWith(referenceSuffix) || relation === '' || taken) {
      throw new Error(
        `${definition.name}.${field}: a reference field is named <relation>${referenceSuffix}, and <relation> must not be a field, a common property or '${definition.plural}'`,
      );
    }
  }
}

// The JSON representation of one resource of a Kind.
export type Resource<F extends Fields> = {
  id: string;
  kind: string;
  href: string;
  created_at: string;
  updated_at: string;
} & { -readonly [K in keyof F as F[K] extends { writeOnly: true } ? never : K]: FieldValue<F[K]> };

// A row of a Kind's table as the DAO reads and writes it. Field values are what pg returns.
export interface KindRow {
  id: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  [field: string]: unknown;
}

// Field values ready for the database (after validation): the keys are field names.
export type FieldValues = Record<string, unknown>;
