import type { Fields, FieldValue } from './fields.ts';

// A Kind: the name clients see, its collection path and table, and its fields.
export interface KindDefinition<F extends Fields = Fields> {
  readonly name: string; // "Dinosaur": the `kind` of a resource
  readonly plural: string; // "dinosaurs": the collection path segment and the table name
  readonly eventSource: string; // "Dinosaurs": the `source` of its events
  readonly fields: F;
}

export function defineKind<F extends Fields>(definition: {
  name: string;
  plural: string;
  fields: F;
}): KindDefinition<F> {
  const eventSource = definition.plural.replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) =>
    letter.toUpperCase(),
  );
  return Object.freeze({ ...definition, eventSource });
}

// The JSON representation of one resource of a Kind.
export type Resource<F extends Fields> = {
  id: string;
  kind: string;
  href: string;
  created_at: string;
  updated_at: string;
} & { -readonly [K in keyof F]: FieldValue<F[K]> };

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
