// The field types a Kind may declare (the generator's `--fields` types) and what each means in JSON,
// in TypeScript and in PostgreSQL. A Kind's fields are the one source its schemas, validation,
// presentation and migration are derived from.
import type { KindDefinition } from './kind.ts';

/** The types of a field that holds a value of its own (every type but a reference). */
export type ScalarType = 'string' | 'int' | 'int64' | 'float' | 'bool' | 'time';
/** Every type a field may declare: a scalar, or `ref`, a reference to a row of a Kind. */
export type FieldType = ScalarType | 'ref';

/** A field holding a value of one scalar type; declare it with defineField. */
export interface ScalarField {
  /** What the field holds (sqlTypes and typeNames say what that is in PostgreSQL and in messages). */
  readonly type: ScalarType;
  /** Never null: a create must give it and a patch cannot clear it; a required string is never empty. */
  readonly required: boolean;
  /** The property's description in the OpenAPI document; may be empty. */
  readonly description: string;
  /**
   * Accepted on POST and PATCH and stored, never shown: not in responses, lists, searches or events
   * (a webhook's secret).
   */
  readonly writeOnly?: boolean;
  /**
   * Shown, searched and ordered by, never taken from a request body: the service's own code keeps it
   * (a controller through the Kind's service, or a webhook's dispatcher by SQL). A client sending it
   * back is ignored, as with created_at; its column needs a default, since no request gives it.
   */
  readonly readOnly?: boolean;
  /**
   * Searched often: the Kind's migration gives it the indexes a list's search and order need
   * (docs/performance.md#big-tables). For text: a hash index (=, in) and a prefix index over its first
   * `prefixIndexLength` characters (like 'abc%'); for other types, a btree. The generator writes them.
   */
  readonly indexed?: boolean;
  /** What the document says of a field its Kind's rules (plugin.rules) check beyond its type. */
  readonly documented?: FieldDocumentation;
}

/**
 * For a field a Kind's rules check: the JSON Schema keywords those rules enforce (a format, a pattern),
 * and, when the rules go further than a schema can say (an operator's allow-list, a language), what
 * they check in a few words (`rules`, shown as the property's x-trex-rules) and values they accept
 * (`examples`, required then). Documentation only: the rules decide; a test proves the two agree.
 */
export interface FieldDocumentation {
  /** A JSON Schema `format` the rules enforce (`uri`). */
  readonly format?: string;
  /** A JSON Schema `pattern` the rules enforce. */
  readonly pattern?: string;
  /** What the rules check beyond the schema, in a few words (x-trex-rules). */
  readonly rules?: string;
  /** Values the rules accept; required with `rules`. The first is the OpenAPI document's example. */
  readonly examples?: readonly unknown[];
}

/**
 * What deleting a referenced row does. Rows are soft-deleted, so a database ON DELETE action never
 * fires: the service enforces the rule. `restrict` is the one rule today: deleting a row that live
 * rows still reference is refused (409), so no live reference ever dangles.
 */
export type DeleteRule = 'restrict';

/**
 * A reference to a row of another Kind (or of the same Kind): the id of that row, held in a column
 * with a foreign key. Its field name ends in `_id`; the part before is the relation's name
 * (`dinosaur_id` → `dinosaur`), used in search, ordering and embedding. Declare it with defineReference.
 */
export interface ReferenceField {
  /** Always `ref`. */
  readonly type: 'ref';
  /** Never null: a create must give it and a patch cannot clear it. */
  readonly required: boolean;
  /** The property's description in the OpenAPI document; may be empty. */
  readonly description: string;
  /** The referenced Kind; a function: two Kinds may reference each other. */
  readonly target: () => KindDefinition;
  /** What deleting a referenced row does. */
  readonly onDelete: DeleteRule;
}

/** One field of a Kind: a value of a scalar type, or a reference. */
export type FieldDefinition = ScalarField | ReferenceField;

/** A Kind's fields by their JSON name, which is also their column's name. */
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

/**
 * The JSON value of a field: `time` travels as an RFC 3339 string, `ref` as the referenced id;
 * optional fields may be null.
 */
export type FieldValue<F extends FieldDefinition> = F['required'] extends true
  ? TypeOf[F['type']]
  : TypeOf[F['type']] | null;

/**
 * Declares a scalar field: optional, shown and undescribed unless `options` says otherwise. The literal
 * types of `required`, `writeOnly` and `readOnly` carry into the Kind's row, value and resource types.
 */
export function defineField<
  T extends ScalarType,
  R extends boolean = false,
  W extends boolean = false,
  RO extends boolean = false,
>(
  type: T,
  options: {
    required?: R;
    description?: string;
    writeOnly?: W;
    readOnly?: RO;
    indexed?: boolean;
    documented?: FieldDocumentation;
  } = {},
): {
  readonly type: T;
  // NoInfer: `required` comes from the options, never from what the call's context expects (defineKind's
  // `Fields`, whose `required` is any boolean).
  readonly required: NoInfer<R>;
  readonly description: string;
  readonly writeOnly: NoInfer<W>;
  readonly readOnly: NoInfer<RO>;
  readonly indexed?: boolean;
  readonly documented?: FieldDocumentation;
} {
  return {
    type,
    required: (options.required ?? false) as R,
    description: options.description ?? '',
    writeOnly: (options.writeOnly ?? false) as W,
    readOnly: (options.readOnly ?? false) as RO,
    ...(options.indexed ? { indexed: true } : {}),
    ...(options.documented ? { documented: options.documented } : {}),
  };
}

/** Whether a field is write-only; never a reference, and false for undefined (a name the Kind lacks). */
export function isWriteOnly(field: FieldDefinition | undefined): boolean {
  return field?.type !== 'ref' && field?.writeOnly === true;
}

/**
 * How many leading characters of an indexed text field its prefix index holds: a btree entry must stay
 * under about 2,700 bytes, and a value of any length must still be storable.
 */
export const prefixIndexLength = 200;

/** Whether a field is read-only (kept by the service, never taken from a body). */
export function isReadOnly(field: FieldDefinition | undefined): boolean {
  return field?.type !== 'ref' && field?.readOnly === true;
}

/** The fields a client may write: all but the read-only ones. */
export function writableFields(fields: Fields): [string, FieldDefinition][] {
  return Object.entries(fields).filter(([, field]) => !isReadOnly(field));
}

/** The fields a client may see: all but the write-only ones. */
export function visibleFields(fields: Fields): [string, FieldDefinition][] {
  return Object.entries(fields).filter(([, field]) => !isWriteOnly(field));
}

/**
 * Declares a reference to a row of `target` (a function returning the Kind): optional, and `restrict`
 * on delete, unless `options` says otherwise. Its name must end in `_id`, or defineKind throws.
 */
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

/** The PostgreSQL column type of each field type, as a Kind's migration declares it. */
export const sqlTypes: Readonly<Record<FieldType, string>> = {
  string: 'text',
  int: 'integer',
  int64: 'bigint',
  float: 'double precision',
  bool: 'boolean',
  time: 'timestamptz(3)',
  ref: 'text',
};

/** What a validation message calls each type. */
export const typeNames: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  int: 'a 32-bit integer',
  int64: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  time: 'an RFC 3339 timestamp string',
  ref: 'a string (an id)',
};
