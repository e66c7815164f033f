// Values of each field type for the Kind contract suite (kind-contract.ts): samples, edge values,
// wrong JSON types, search literals, and how the API presents and orders them.

import { randomBytes } from 'node:crypto';
import type { FieldType } from '../../src/kinds/framework/fields.ts';

// A reference's values are the ids of resources the suite creates, not values of a type.
const noSamples = (): never => {
  throw new Error('reference fields take their values from the resources the contract suite creates');
};

// What a validation reason calls each type: `<field> must be <name>` (docs/api.md#fields). Written out here
// rather than imported from the service, so a change to the text clients see fails a test.
export const typeNames: Readonly<Record<FieldType, string>> = {
  string: 'a string',
  int: 'a 32-bit integer',
  int64: 'an integer',
  float: 'a number',
  bool: 'a boolean',
  time: 'an RFC 3339 timestamp string',
  ref: 'a string (an id)',
};

export const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

const pad = (n: number, width: number): string => String(Math.abs(n)).padStart(width, '0');

export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The instant `ms` as RFC 3339 at a UTC offset of `minutes`: the same time, written differently.
export function timestampAtOffset(ms: number, minutes: number): string {
  const local = new Date(ms + minutes * 60_000).toISOString().slice(0, -1);
  const sign = minutes < 0 ? '-' : '+';
  return `${local}${sign}${pad(Math.trunc(Math.abs(minutes) / 60), 2)}:${pad(Math.abs(minutes) % 60, 2)}`;
}

// A valid value of `type`, different for each n and increasing with n (a bool is true for odd n). Ints
// include negatives, so text order and numeric order differ; int64 goes past 32 bits; floats are not
// integers; times carry milliseconds and, for odd n, a non-UTC offset; strings (all starting with
// `prefix`) hold a quote and a non-ASCII letter, and differ only in their zero-padded number, so every
// collation orders them by n.
export function sampleValue(type: FieldType, n: number, prefix = 'sample'): unknown {
  switch (type) {
    case 'string':
      return `${prefix} it's é ${pad(n, 6)}`;
    case 'int':
      return n * 1000 - 2500;
    case 'int64':
      return n * 3_000_000_000 - 7_500_000_000;
    case 'float':
      return n * 1.25 - 3.4;
    case 'bool':
      return n % 2 === 1;
    case 'time': {
      const ms = Date.UTC(2024, 1, 27, 22, 0, 0, 0) + n * 90_061_001;
      return n % 2 === 1 ? timestampAtOffset(ms, 330) : new Date(ms).toISOString();
    }
    case 'ref':
      return noSamples();
  }
}

// Valid values at the edges of each type, zero values first (a `value || null` bug loses them). An
// empty string is valid only for an optional field.
export function edgeValues(type: FieldType, required: boolean): unknown[] {
  switch (type) {
    case 'string':
      return [
        ...(required ? [] : ['']),
        `quote ' double " backslash \\ percent % underscore _`,
        'Ænigmasaurus 恐竜 🦖',
        randomBytes(2250).toString('base64'), // 3000 incompressible characters
      ];
    case 'int':
      return [0, -(2 ** 31), 2 ** 31 - 1];
    case 'int64':
      return [0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    case 'float':
      return [0, -1.5e-300, Number.MAX_VALUE, 5e-324, 0.1];
    case 'bool':
      return [false, true];
    case 'time':
      return [
        '1970-01-01T00:00:00Z',
        '1969-12-31T23:59:59.999Z',
        '0001-01-01T00:00:00Z',
        '0000-02-29T12:34:56.789Z', // the leap day of year 0, PostgreSQL's 1 BC
        '9999-12-31T23:59:59.999Z',
        '2024-02-29T23:59:59.999+14:00',
      ];
    case 'ref':
      return noSamples();
  }
}

// JSON values a field of `type` must refuse with `<field> must be <type name>`.
export function wrongValues(type: FieldType): [string, unknown][] {
  const structured: [string, unknown][] = [
    ['an object', { value: 1 }],
    ['an array', [1]],
  ];
  switch (type) {
    case 'string':
    case 'ref':
      return [['a number', 1], ['a boolean', true], ...structured];
    case 'int':
      return [
        ['a string', 'x'],
        ['a numeric string', '1'],
        ['a fraction', 1.5],
        ['2^31', 2 ** 31],
        ['-2^31 - 1', -(2 ** 31) - 1],
        ['a boolean', true],
        ...structured,
      ];
    case 'int64':
      return [
        ['a string', 'x'],
        ['a numeric string', '1'],
        ['a fraction', 1.5],
        ['a boolean', false],
        ...structured,
      ];
    case 'float':
      return [['a string', 'x'], ['a numeric string', '1.5'], ['a boolean', true], ...structured];
    case 'bool':
      return [['a string', 'x'], ['the string "true"', 'true'], ['a number', 1], ...structured];
    case 'time':
      return [
        ['a word', 'not-a-time'],
        ['an impossible date', '2024-02-30T00:00:00Z'],
        ['a date without a time', '2024-01-31'],
        ['a time without an offset', '2024-01-31T12:00:00'],
        ['a number', 1706702400000],
        ['a boolean', true],
        ...structured,
      ];
  }
}

// `value` written as a search literal (docs/search.md#the-search-language): strings and times quoted,
// numbers and bools bare.
export function literal(type: FieldType, value: unknown): string {
  switch (type) {
    case 'string':
    case 'ref':
    case 'time':
      return `'${String(value).replaceAll("'", "''")}'`;
    default:
      return String(value);
  }
}

// Search literals a field of `type` cannot be compared with (400 code 21).
export function mismatchedLiterals(type: FieldType): string[] {
  switch (type) {
    case 'string':
    case 'ref':
      return ['1', 'true'];
    case 'int':
      return ["'1'", '1.5', '2147483648', 'true'];
    case 'int64':
      return ["'1'", '1.5', 'false'];
    case 'float':
      return ["'1.5'", 'true'];
    case 'bool':
      return ["'true'", '1'];
    case 'time':
      return ["'yesterday'", "'2024-02-30'", '1', 'true'];
  }
}

// A value as the service presents it: times in UTC with milliseconds, a missing value as null.
export function presented(type: FieldType, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  return type === 'time' ? new Date(value as string).toISOString() : value;
}

// Whether two JSON values of `type` are the same value (times: the same instant).
export function sameValue(type: FieldType, a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (type === 'time') return Date.parse(a as string) === Date.parse(b as string);
  return a === b;
}

// The order of `type`'s values (non-null).
export function compareValues(type: FieldType, a: unknown, b: unknown): number {
  switch (type) {
    case 'string':
    case 'ref':
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 'bool':
      return Number(a) - Number(b);
    case 'time':
      return Date.parse(a as string) - Date.parse(b as string);
    default:
      return (a as number) - (b as number);
  }
}

// A valid value of `type` other than `current`.
export function otherValue(type: FieldType, current: unknown, prefix: string): unknown {
  if (type === 'bool') return current !== true;
  for (let n = 11; ; n++) {
    const candidate = sampleValue(type, n, prefix);
    if (!sameValue(type, candidate, current)) return candidate;
  }
}
