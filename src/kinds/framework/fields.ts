// The field types a Kind may declare (the generator's `--fields` types) and what each means in JSON,
// in TypeScript and in PostgreSQL. A Kind's fields are the one source its schemas, validation,
// presentation and migration are derived from.

export type FieldType = 'string' | 'int' | 'int64' | 'float' | 'bool' | 'time';

export interface FieldDefinition {
  readonly type: FieldType;
  readonly required: boolean;
  readonly description: string;
}

export type Fields = Readonly<Record<string, FieldDefinition>>;

interface TypeOf {
  string: string;
  int: number;
  int64: number;
  float: number;
  bool: boolean;
  time: string;
}

// The JSON value of a field: `time` travels as an RFC 3339 string; optional fields may be null.
export type FieldValue<F extends FieldDefinition> = F['required'] extends true
  ? TypeOf[F['type']]
  : TypeOf[F['type']] | null;

export function defineField<T extends FieldType, R extends boolean = false>(
  type: T,
  options: { required?: R; description?: string } = {},
): { readonly type: T; readonly required: R; readonly description: string } {
  return { type, required: (options.required ?? false) as R, description: options.description ?? '' };
}

export const sqlTypes: Readonly<Record<FieldType, string>> = {
  string: 'text',
  int: 'integer',
  int64: 'bigint',
  float: 'double precision',
  bool: 'boolean',
  time: 'timestamptz(3)',
};

// What a validation message calls each type.
export const typeNames: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  int: 'a 32-bit integer',
  int64: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  time: 'an RFC 3339 timestamp string',
};
