// Values from the JSON schemas of an OpenAPI document, for tests that hold the service to its document:
// fast-check arbitraries of values a schema admits, one value of every JSON type, and a validator of the
// document exactly as it is written (no object closed, unlike contract-client.ts, which checks what the
// service answers). Nothing here knows a Kind: only JSON Schema, the formats the document uses and the
// document's own extensions (x-trex-rules, x-trex-reference).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';

export type JsonSchema = Readonly<Record<string, unknown>>;
export type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'array' | 'object';

export const jsonTypes: readonly JsonType[] = [
  'string',
  'integer',
  'number',
  'boolean',
  'null',
  'array',
  'object',
];

// One value of each JSON type; 1.5 is a number that is no integer.
export const valueOfType: Readonly<Record<JsonType, unknown>> = {
  string: 'text',
  integer: 7,
  number: 1.5,
  boolean: true,
  null: null,
  array: ['text'],
  object: { text: 'text' },
};

// The ranges OpenAPI gives its integer formats.
const formatRanges: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

// A collection whose items' ids a property takes (x-trex-reference), and values the service accepts for
// a property whose rules go beyond its schema (x-trex-rules: the examples).
export interface Reference {
  readonly kind: string;
  readonly collection: string;
}
export const referenceOf = (schema: JsonSchema): Reference | undefined =>
  schema['x-trex-reference'] as Reference | undefined;
export const hasRules = (schema: JsonSchema): boolean => schema['x-trex-rules'] !== undefined;

export interface ValueOptions {
  // Ids of existing resources of a referenced collection.
  readonly reference?: (reference: Reference) => fc.Arbitrary<string>;
}

export class SchemaDocument {
  private readonly ajv: Ajv2020;

  constructor(readonly document: Record<string, unknown>) {
    this.ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
    addFormats.default(this.ajv);
    // OpenAPI's number formats: their ranges are checked here as the document states them.
    this.ajv.addFormat('int32', { type: 'number', validate: (value: number) => inRange(value, 'int32') });
    this.ajv.addFormat('int64', { type: 'number', validate: (value: number) => inRange(value, 'int64') });
    this.ajv.addFormat('double', { type: 'number', validate: () => true });
    this.ajv.addSchema(document, 'document');
  }

  // The schema at `#/components/schemas/X` when `schema` is such a reference, else `schema`.
  resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const parts = ref.replace(/^#\//, '').split('/');
    let target: unknown = this.document;
    for (const part of parts) target = (target as Record<string, unknown>)[part];
    if (!target) throw new Error(`no schema at ${ref}`);
    return this.resolve(target as JsonSchema);
  }

  validator(...parts: string[]): ValidateFunction {
    const path = parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
    const validate = this.ajv.getSchema(`document#/${path}`);
    if (!validate) throw new Error(`the document has no schema at /${parts.join('/')}`);
    return validate;
  }

  errors(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors);
  }

  // The JSON types `schema` admits; undefined: any value.
  admittedTypes(schema: JsonSchema): Set<JsonType> | undefined {
    const resolved = this.resolve(schema);
    const members = (resolved.anyOf ?? resolved.oneOf) as JsonSchema[] | undefined;
    if (members) {
      const all = new Set<JsonType>();
      for (const member of members) {
        const types = this.admittedTypes(member);
        if (!types) return undefined;
        for (const type of types) all.add(type);
      }
      return all;
    }
    let types: JsonType[] | undefined;
    if (resolved.type !== undefined) types = [resolved.type].flat() as JsonType[];
    else if (Array.isArray(resolved.enum)) types = resolved.enum.map(typeOfValue);
    if (!types) return undefined;
    const admitted = new Set(types);
    if (admitted.has('number')) admitted.add('integer');
    return admitted;
  }

  // Values `schema` admits: every keyword the document uses is honoured, and values are varied
  // (Unicode, edges of ranges, every member of a union, optional properties present and absent).
  values(schema: JsonSchema, options: ValueOptions = {}): fc.Arbitrary<unknown> {
    const resolved = this.resolve(schema);
    const reference = referenceOf(resolved);
    if (reference) {
      if (!options.reference) throw new Error(`no ids for the reference to ${reference.collection}`);
      const ids = options.reference(reference);
      return this.admittedTypes(resolved)?.has('null') ? fc.oneof(ids, fc.constant(null)) : ids;
    }
    if (hasRules(resolved)) {
      const examples = resolved.examples as unknown[] | undefined;
      if (!examples?.length) throw new Error(`x-trex-rules without examples: ${JSON.stringify(resolved)}`);
      return fc.constantFrom(...examples);
    }
    if (Array.isArray(resolved.enum)) return fc.constantFrom(...resolved.enum);
    const members = (resolved.anyOf ?? resolved.oneOf) as JsonSchema[] | undefined;
    if (members) return fc.oneof(...members.map((member) => this.values(member, options)));
    const types = resolved.type === undefined ? undefined : ([resolved.type].flat() as JsonType[]);
    if (!types) return fc.jsonValue({ maxDepth: 3 });
    return fc.oneof(...types.map((type) => this.valuesOfType(type, resolved, options)));
  }

  private valuesOfType(type: JsonType, schema: JsonSchema, options: ValueOptions): fc.Arbitrary<unknown> {
    switch (type) {
      case 'string':
        return stringValues(schema);
      case 'integer':
        return integerValues(schema);
      case 'number':
        return fc.double({
          noNaN: true,
          noDefaultInfinity: true,
          ...(typeof schema.minimum === 'number' ? { min: schema.minimum } : {}),
          ...(typeof schema.maximum === 'number' ? { max: schema.maximum } : {}),
        });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(schema.items ? this.values(schema.items as JsonSchema, options) : fc.jsonValue(), {
          maxLength: 4,
        });
      case 'object':
        return this.objectValues(schema, options);
    }
  }

  private objectValues(schema: JsonSchema, options: ValueOptions): fc.Arbitrary<unknown> {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = (schema.required ?? []) as string[];
    if (Object.keys(properties).length === 0)
      return fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }));
    return fc.record(
      Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [name, this.values(property, options)]),
      ),
      { requiredKeys: required },
    );
  }
}

const typeOfValue = (value: unknown): JsonType =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? 'integer'
          : 'number'
        : (typeof value as JsonType);

function inRange(value: number, format: string): boolean {
  const [min, max] = formatRanges[format] as readonly [bigint, bigint];
  return Number.isInteger(value) && value >= Number(min) && value <= Number(max);
}

function integerValues(schema: JsonSchema): fc.Arbitrary<number> {
  const [formatMin, formatMax] = formatRanges[String(schema.format)] ?? [-(2n ** 53n) + 1n, 2n ** 53n - 1n];
  const min = typeof schema.minimum === 'number' ? BigInt(schema.minimum) : formatMin;
  const max = typeof schema.maximum === 'number' ? BigInt(schema.maximum) : formatMax;
  // The edges of the range as often as the middle: that is where a document and a service part.
  return fc.oneof(
    fc.bigInt({ min, max }).map(Number),
    fc
      .constantFrom(Number(min), Number(max), 0, -1, 1)
      .filter((value) => value >= Number(min) && value <= Number(max)),
  );
}

// Text that has hurt services before: SQL, template and script injections, paths, escapes.
export const suspiciousStrings: readonly string[] = [
  "' or '1'='1",
  "'; drop table events; --",
  '"; select pg_sleep(10); --',
  '1 or 1=1',
  '\u0024{jndi:ldap://x/a}', // a log4j lookup
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '%00',
  '\\',
  '$where',
  '__proto__',
];

// Strings of every kind: ASCII, Unicode graphemes, any code point (lone surrogates and controls too),
// suspicious ones, long ones; a pattern, a format and lengths are honoured.
const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom(...suspiciousStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1_000, max: 20_000 }),
      )
      .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length))),
  },
);

function stringValues(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const length = (text: string): boolean => {
    const points = [...text].length;
    return points >= minLength && points <= maxLength;
  };
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const matches = (text: string): boolean => pattern === undefined || pattern.test(text);
  let base: fc.Arbitrary<string>;
  if (schema.format === 'date-time') base = dateTimes;
  else if (schema.format === 'uri') base = fc.webUrl({ withQueryParameters: true, withFragments: true });
  else if (pattern) {
    // Strings made from the pattern, and any string the pattern happens to take, when it takes many.
    const matching = fc.stringMatching(pattern);
    const taken = fc.sample(anyString, { numRuns: 50, seed: 1 }).filter(matches).length;
    base = taken >= 25 ? fc.oneof(matching, anyString.filter(matches)) : matching;
  } else base = anyString;
  return base.filter((text) => length(text) && matches(text));
}

// RFC 3339 date-times (what JSON Schema's `date-time` means) of every form the grammar allows: `T` or
// `t`, `Z`, `z` or a numeric offset, no fraction or one of 1 to 9 digits, and leap seconds (23:59:60 in
// UTC). Their instants lie in years 0000 to 9999, which RFC 3339 can write in UTC.
const firstInstant = Date.parse('0000-01-01T00:00:00.000Z');
const lastInstant = Date.parse('9999-12-31T23:59:59.999Z');
const twoDigits = (n: number): string => String(n).padStart(2, '0');

export const dateTimes: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        instant: fc.oneof(
          fc.integer({ min: firstInstant, max: lastInstant }),
          fc.constantFrom(
            firstInstant,
            lastInstant,
            0,
            Date.parse('2024-02-29T12:00:00Z'),
            Date.parse('0000-02-29T00:00:00Z'),
          ),
        ),
        offset: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
        zone: fc.constantFrom('Z', 'z', '+00:00', '-00:00'),
        separator: fc.constantFrom('T', 't'),
        fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.\d{1,9}$/)),
      })
      .map(({ instant, offset, zone, separator, fraction }) => {
        const whole = instant - (((instant % 1000) + 1000) % 1000);
        const local = new Date(whole + offset * 60_000).toISOString();
        const sign = offset < 0 ? '-' : '+';
        const suffix =
          offset === 0
            ? zone
            : `${sign}${twoDigits(Math.floor(Math.abs(offset) / 60))}:${twoDigits(Math.abs(offset) % 60)}`;
        return `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${fraction}${suffix}`;
      })
      // The local date must be writable too.
      .filter((text) => /^\d{4}-/.test(text)),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        day: fc.integer({ min: firstInstant, max: lastInstant - 86_400_000 }),
        fraction: fc.constantFrom('', '.5', '.999'),
      })
      .map(({ day, fraction }) => `${new Date(day).toISOString().slice(0, 10)}T23:59:60${fraction}Z`),
  },
);

// Strings that are not what `format` means, for the formats the document uses.
export const invalidOfFormat: Readonly<Record<string, readonly string[]>> = {
  'date-time': [
    'yesterday',
    '2024-01-31',
    '2024-01-31T12:00:00',
    '2024-02-30T12:00:00Z',
    '2023-02-29T12:00:00Z',
    '2024-13-01T12:00:00Z',
    '2024-01-31T24:00:00Z',
    '2024-01-31T12:60:00Z',
    '2024-01-31T12:00:00+24:00',
    '2024-01-31T12:00Z',
    '12:00:00Z',
  ],
  uri: ['not a uri', '//no-scheme.example/path', 'http://exa mple.com/'],
};

// The hosts of the http(s) URLs among the document's examples of request properties: the hosts a
// service must allow (--webhook-allowed-hosts) for those examples to be accepted.
export function exampleUrlHosts(document: Record<string, unknown>): string[] {
  const hosts = new Set<string>();
  const schemas = (document.components as { schemas: Record<string, JsonSchema> }).schemas;
  for (const schema of Object.values(schemas)) {
    for (const property of Object.values((schema.properties ?? {}) as Record<string, JsonSchema>)) {
      for (const example of (property.examples as unknown[] | undefined) ?? []) {
        if (typeof example === 'string' && /^https?:\/\//.test(example)) hosts.add(new URL(example).hostname);
      }
    }
  }
  return [...hosts];
}
