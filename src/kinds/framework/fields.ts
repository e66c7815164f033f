// The field types a Kind may declare (the generator's `--fields` types) and what each means in JSON,
// in TypeScript and in PostgreSQL. A Kind's fields are the one source its schemas, validation,
// presentation and migration are derived from.
import type { KindDefinition } from './kind.ts';

export type ScalarType = 'string' | 'int' | 'int64' | 'float' | 'bool' | 'time';
export type FieldType = ScalarType | 'ref';

export interface ScalarField {
  readonly type: ScalarType;
  readonly required: boolean;
  readonly description: string;
  // Accepted on POST and PATCH and stored, never shown: not in responses, lists, searches or events
  // (a webhook's secret).
  readonly writeOnly?: boolean;
  // What the document says of a field its Kind's rules (plugin.rules) check beyond its type.
  readonly documented?: FieldDocumentation;
}

// For a field a Kind's rules check: the JSON Schema keywords those rules enforce (a format, a pattern),
// and, when the rules go further than a schema can say (an operator's allow-list, a language), what
// they check in a few words (`rules`, shown as the property's x-trex-rules) and values they accept
// (`examples`, required then). Documentation only: the rules decide; a test proves the two agree.
export interface FieldDocumentation {
  readonly format?: string;
  readonly pattern?: string;
  readonly rules?: string;
  readonly examples?: readonly unknown[];
}

// What deleting a referenced row does. Rows are soft-deleted, so a database ON DELETE action never
// fires: the service enforces the rule. `restrict` is the one rule today: deleting a row that live
// rows still reference is refused (409), so no live reference ever dangles.
export type DeleteRule = 'restrict';

// A reference to a row of another Kind (or of the same Kind): the id of that row, held in a column
// with a foreign key. Its field name ends in `_id`; the part before is the relation's name
// (`dinosaur_id` → `dinosaur`), used in search, ordering and embedding.
export interface ReferenceField {
  readonly type: 'ref';
  readonly required: boolean;
  readonly description: string;
  readonly target: () => KindDefinition; // a function: two Kinds may reference each other
  readonly onDelete: DeleteRule;
}

export type FieldDefinition = ScalarField | ReferenceField;

export type Fields = Readonly<Record<string, FieldDefinition>>;

interface TypeOf {
  string: string;
  int: number;
  int64: number;
  float: number;
  bool: boolean;
  time: string;
  ref: string;
}

// What pg returns for each type: 64-bit integers as decimal strings, timestamps as Dates.
interface RowTypeOf {
  string: string;
  int: number;
  int64: string;
  float: number;
  bool: boolean;
  time: Date;
  ref: string;
}

// What the request body parser (body.ts) makes of each type's JSON.
interface WriteTypeOf {
  string: string;
  int: number;
  int64: number;
  float: number;
  bool: boolean;
  time: Date;
  ref: string;
}

/** A field's value in a row read from the database; optional fields may be null. */
export type RowValue<F extends FieldDefinition> = F['required'] extends true
  ? RowTypeOf[F['type']]
  : RowTypeOf[F['type']] | null;

/** A field's value as a write sets it; optional fields may be set to null. */
export type WriteValue<F extends FieldDefinition> = F['required'] extends true
  ? WriteTypeOf[F['type']]
  : WriteTypeOf[F['type']] | null;

// The JSON value of a field: `time` travels as an RFC 3339 string, `ref` as the referenced id;
// optional fields may be null.
export type FieldValue<F extends FieldDefinition> = F['required'] extends true
  ? TypeOf[F['type']]
  : TypeOf[F['type']] | null;

export function defineField<T extends ScalarType, R extends boolean = false, W extends boolean = false>(
  type: T,
  options: { required?: R; description?: string; writeOnly?: W; documented?: FieldDocumentation } = {},
): {
  readonly type: T;
  // NoInfer: `required` comes from the options, never from what the call's context expects (defineKind's
  // `Fields`, whose `required` is any boolean).
  readonly required: NoInfer<R>;
  readonly description: string;
  readonly writeOnly: NoInfer<W>;
  readonly documented?: FieldDocumentation;
} {
  return {
    type,
    required: (options.required ?? false) as R,
    description: options.description ?? '',
    writeOnly: (options.writeOnly ?? false) as W,
    ...(options.documented ? { documented: options.documented } : {}),
  };
}

export function isWriteOnly(field: FieldDefinition | undefined): boolean {
  return field?.type !== 'ref' && field?.writeOnly === true;
}

// The fields a client may see: all but the write-only ones.
export function visibleFields(fields: Fields): [string, FieldDefinition][] {
  return Object.entries(fields).filter(([, field]) => !isWriteOnly(field));
}

export function defineReference<R extends boolean = false>(
  target: () => KindDefinition,
  options: { required?: R; description?: string; onDelete?: DeleteRule } = {},
): ReferenceField & { readonly required: NoInfer<R> } {
  return {
    type: 'ref',
    target,
    required: (options.required ?? false) as R,
    description: options.description ?? '',
    onDelete: options.onDelete ?? 'restrict',
  };
}

export const sqlTypes: Readonly<Record<FieldType, string>> = {
  string: 'text',
  int: 'integer',
  int64: 'bigint',
  float: 'double precision',
  bool: 'boolean',
  time: 'timestamptz(3)',
  ref: 'text',
};

// What a validation message calls each type.
export const typeNames: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  int: 'a 32-bit integer',
  int64: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  time: 'an RFC 3339 timestamp string',
  ref: 'a string (an id)',
};
