import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors/catalogue.ts';
import { parseCreateBody, parsePatchBody } from '../../src/kinds/framework/body.ts';
import { defineField } from '../../src/kinds/framework/fields.ts';
import { defineKind } from '../../src/kinds/framework/kind.ts';

// Every field type, once required and once optional.
const kind = defineKind({
  name: 'Specimen',
  plural: 'specimens',
  fields: {
    name: defineField('string', { required: true }),
    legs: defineField('int', { required: true }),
    population: defineField('int64', { required: true }),
    weight: defineField('float', { required: true }),
    extinct: defineField('bool', { required: true }),
    discovered: defineField('time', { required: true }),
    nickname: defineField('string'),
    teeth: defineField('int'),
    fossils: defineField('int64'),
    height: defineField('float'),
    flying: defineField('bool'),
    described: defineField('time'),
  },
});

const fieldNames = Object.keys(kind.fields);
const requiredFields = ['name', 'legs', 'population', 'weight', 'extinct', 'discovered'];
const optionalFields = ['nickname', 'teeth', 'fossils', 'height', 'flying', 'described'];

const valid = {
  name: 'Sue',
  legs: 2,
  population: 9_007_199_254_740_991,
  weight: 8.4,
  extinct: true,
  discovered: '1990-08-12T10:00:00Z',
};

const pathId = '2QZqK5xJ1fPZ6bQ3dYq0mN4sT7u';

// The ApiError a call threw; fails the test when it returned or threw anything else.
function apiError(parse: () => unknown): ApiError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected an ApiError, but the body was accepted');
}

function expectValidation(parse: () => unknown, reason: string | RegExp): void {
  const error = apiError(parse);
  expect(error.entry.code).toBe(8);
  expect(error.entry.httpStatus).toBe(400);
  if (typeof reason === 'string') expect(error.message).toBe(reason);
  else expect(error.message).toMatch(reason);
}

const create = (body: unknown) => parseCreateBody(kind, body);
const patch = (body: unknown, id = pathId) => parsePatchBody(kind, body, id);

describe('parseCreateBody', () => {
  it('converts every field type, times to Date, and sets absent optional fields to null', () => {
    const values = create({ ...valid, discovered: '1990-08-12T12:00:00.250+02:00' });
    expect(values).toEqual({
      name: 'Sue',
      legs: 2,
      population: 9_007_199_254_740_991,
      weight: 8.4,
      extinct: true,
      discovered: new Date('1990-08-12T10:00:00.250Z'),
      nickname: null,
      teeth: null,
      fossils: null,
      height: null,
      flying: null,
      described: null,
    });
    expect(values.discovered).toBeInstanceOf(Date);
  });

  it('keeps optional values, and null on an optional field is null', () => {
    const values = create({
      ...valid,
      nickname: '',
      teeth: 0,
      fossils: -5,
      height: 0,
      flying: false,
      described: null,
    });
    expect(values).toMatchObject({
      nickname: '',
      teeth: 0,
      fossils: -5,
      height: 0,
      flying: false,
      described: null,
    });
  });

  it('accepts falsy values on required non-string fields', () => {
    expect(create({ ...valid, legs: 0, population: 0, weight: 0, extinct: false })).toMatchObject({
      legs: 0,
      population: 0,
      weight: 0,
      extinct: false,
    });
  });

  it.each(requiredFields)('requires %s: absent and null are rejected', (field) => {
    const { [field as keyof typeof valid]: _omitted, ...rest } = valid;
    expectValidation(() => create(rest), `${field} is required`);
    expectValidation(() => create({ ...valid, [field]: null }), `${field} is required`);
  });

  it('rejects an empty required string', () => {
    expectValidation(() => create({ ...valid, name: '' }), 'name is required');
  });

  it('ignores read-only fields a client sends back', () => {
    const values = create({
      ...valid,
      kind: 'Other',
      href: '/x',
      created_at: 'yesterday',
      updated_at: 42,
    });
    expect(Object.keys(values).sort()).toEqual([...fieldNames].sort());
  });

  it('accepts an empty or null id and rejects any other', () => {
    expect(create({ ...valid, id: '' }).name).toBe('Sue');
    expect(create({ ...valid, id: null }).name).toBe('Sue');
    for (const id of ['abc', pathId, 0, false, {}]) {
      expectValidation(() => create({ ...valid, id }), 'id must be empty');
    }
  });
});

describe('parsePatchBody', () => {
  it('returns only the fields present, converted', () => {
    expect(patch({})).toEqual({});
    expect(patch({ legs: 4, described: '2001-02-03T04:05:06Z' })).toEqual({
      legs: 4,
      described: new Date('2001-02-03T04:05:06Z'),
    });
  });

  it('converts every field type', () => {
    const body = {
      ...valid,
      nickname: 'x',
      teeth: 60,
      fossils: 12,
      height: 3.5,
      flying: false,
      described: '1905-01-01T00:00:00Z',
    };
    const changes = patch(body);
    expect(changes).toEqual({
      ...body,
      discovered: new Date(valid.discovered),
      described: new Date('1905-01-01T00:00:00Z'),
    });
  });

  it.each(optionalFields)('sets optional %s to null', (field) => {
    expect(patch({ [field]: null })).toEqual({ [field]: null });
  });

  it.each(requiredFields)('refuses null on required %s', (field) => {
    expectValidation(() => patch({ [field]: null }), `${field} cannot be null`);
  });

  it('refuses an empty required string and accepts an empty optional one', () => {
    expectValidation(() => patch({ name: '' }), 'name cannot be empty');
    expect(patch({ nickname: '' })).toEqual({ nickname: '' });
  });

  it('ignores read-only fields', () => {
    expect(patch({ kind: 'Specimen', href: '/x', created_at: 'x', updated_at: 'y', legs: 3 })).toEqual({
      legs: 3,
    });
  });

  it('accepts the id of the path (or an empty one) and rejects a different one', () => {
    expect(patch({ id: pathId, legs: 1 })).toEqual({ legs: 1 });
    expect(patch({ id: '', legs: 1 })).toEqual({ legs: 1 });
    expect(patch({ id: null })).toEqual({});
    for (const id of ['other', `${pathId} `, pathId.toLowerCase(), 1, true]) {
      const error = apiError(() => patch({ id }));
      expect(error.entry.code).toBe(8);
      expect(error.message).toMatch(/\bid\b/);
    }
  });
});

// The same rules for both parsers: a patch of one field, a create of a valid body with one field changed.
const parsers = [
  ['create', (field: string, value: unknown) => create({ ...valid, [field]: value })],
  ['patch', (field: string, value: unknown) => patch({ [field]: value })],
] as const;

describe.each(parsers)('types (%s)', (_name, parse) => {
  const wrongTypes: [string, string, unknown[]][] = [
    ['name', 'a string', [5, true, {}, [], ['x']]],
    ['nickname', 'a string', [5, false, { a: 1 }]],
    ['legs', 'a 32-bit integer', ['4', 1.5, true, {}, Number.NaN, Number.POSITIVE_INFINITY]],
    ['teeth', 'a 32-bit integer', ['4', 0.1, false]],
    ['population', 'an integer', ['1', 1.5, true, [], Number.NaN]],
    ['fossils', 'an integer', ['1', 2.5, false]],
    ['weight', 'a number', ['8.4', true, {}, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
    ['height', 'a number', ['1', false, Number.NaN]],
    ['extinct', 'a boolean', ['true', 1, 0, {}]],
    ['flying', 'a boolean', ['false', 0]],
    ['discovered', 'an RFC 3339 timestamp string', [1_700_000_000_000, true, {}]],
    ['described', 'an RFC 3339 timestamp string', [0, false]],
  ];

  it.each(wrongTypes)('rejects a wrong type for %s: "<field> must be %s"', (field, typeName, values) => {
    for (const value of values) {
      expectValidation(() => parse(field, value), `${field} must be ${typeName}`);
    }
  });

  it('accepts exactly the 32-bit range for int fields', () => {
    for (const field of ['legs', 'teeth']) {
      for (const value of [2_147_483_647, -2_147_483_648, 0, -1]) {
        expect(parse(field, value)[field], `${field} = ${value}`).toBe(value);
      }
      for (const value of [2_147_483_648, -2_147_483_649, 2 ** 40, -(2 ** 40)]) {
        expectValidation(() => parse(field, value), `${field} must be a 32-bit integer`);
      }
    }
  });

  it('accepts safe integers for int64 fields and rejects the rest', () => {
    for (const field of ['population', 'fossils']) {
      for (const value of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 40]) {
        expect(parse(field, value)[field]).toBe(value);
      }
      for (const value of [2 ** 53, -(2 ** 53), 1e20]) {
        expectValidation(() => parse(field, value), `${field} must be an integer`);
      }
    }
  });

  it('accepts any finite float', () => {
    for (const value of [0, -0.5, 1e-300, 1.7976931348623157e308, -123.456, 2 ** 60]) {
      expect(parse('height', value).height).toBe(value);
    }
  });

  it.each([
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T03:04:05.123Z', '2024-01-02T03:04:05.123Z'],
    ['2024-01-02T03:04:05.1+01:30', '2024-01-02T01:34:05.100Z'],
    ['2024-01-02T03:04:05-05:00', '2024-01-02T08:04:05.000Z'],
    ['2024-01-02t03:04:05z', '2024-01-02T03:04:05.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads the RFC 3339 time %s', (text, iso) => {
    const value = parse('described', text).described;
    expect(value).toBeInstanceOf(Date);
    expect((value as Date).toISOString()).toBe(iso);
  });

  it.each([
    '2024-01-02',
    '2024-01-02T03:04:05',
    '2024-01-02T03:04Z',
    '03:04:05Z',
    '2024-1-2T03:04:05Z',
    '20240102T030405Z',
    'yesterday',
    '',
    'Tue, 02 Jan 2024 03:04:05 GMT',
    '2024-13-01T00:00:00Z',
    '2024-01-32T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:60:00Z',
    '2024-01-01T00:00:00+24:00',
    ' 2024-01-02T03:04:05Z',
  ])('rejects %j, which is not an RFC 3339 time', (text) => {
    expectValidation(() => parse('described', text), 'described must be an RFC 3339 timestamp string');
  });
});

describe.each([
  ['create', (body: Record<string, unknown>) => create({ ...valid, ...body })],
  ['patch', (body: Record<string, unknown>) => patch(body)],
] as const)('unknown fields (%s)', (_name, parse) => {
  it('names one unknown field', () => {
    expectValidation(() => parse({ colour: 'green' }), "unknown field 'colour'");
  });

  it('names every unknown field', () => {
    const error = apiError(() => parse({ colour: 'green', Legs: 4 }));
    expect(error.entry.code).toBe(8);
    expect(error.message).toContain('colour');
    expect(error.message).toContain('Legs');
  });

  it('rejects __proto__ and other Object.prototype names as unknown fields', () => {
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const body = JSON.parse(`{"${key}": 1}`) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual([key]);
      const merged = JSON.parse(`{"${key}": 1, "legs": 4}`) as Record<string, unknown>;
      expectValidation(() => parse(merged), `unknown field '${key}'`);
    }
  });

  it('does not let __proto__ smuggle in field values', () => {
    const body = JSON.parse('{"__proto__": {"name": "Injected", "nickname": "x"}}') as Record<
      string,
      unknown
    >;
    expectValidation(() => parse(body), "unknown field '__proto__'");
  });
});

describe.each([
  ['create', create],
  ['patch', (body: unknown) => patch(body)],
] as const)('bodies that are not objects (%s)', (_name, parse) => {
  it.each([[undefined], [null], [[]], [[{ name: 'x' }]], ['{"name":"x"}'], [42], [true]])(
    'rejects %j with 400 code 17',
    (body) => {
      const error = apiError(() => parse(body));
      expect(error.entry.code).toBe(17);
      expect(error.entry.httpStatus).toBe(400);
      expect(error.message).toMatch(/^Invalid request format:/);
    },
  );
});

describe('any JSON body (property)', () => {
  // Arbitrary JSON, and objects whose keys are mostly the Kind's own, so the field checks are reached.
  const keys = fc.constantFrom(...fieldNames, 'id', 'kind', 'href', 'created_at', '__proto__', 'other');
  const bodies = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(keys, fc.jsonValue(), { maxKeys: 8 }),
    fc.record(
      Object.fromEntries(
        fieldNames.map((name) => [
          name,
          fc.oneof(
            fc.jsonValue(),
            fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
          ),
        ]),
      ),
      { requiredKeys: [] },
    ),
  );

  function returnsOrThrows400(parse: () => unknown): boolean {
    try {
      parse();
      return true;
    } catch (error) {
      return error instanceof ApiError && error.entry.httpStatus === 400;
    }
  }

  it('either parses or throws an ApiError with status 400, never anything else', () => {
    fc.assert(
      fc.property(bodies, fc.string(), (generated, id) => {
        // What the HTTP layer hands over: the result of JSON.parse.
        const body: unknown = JSON.parse(JSON.stringify(generated) ?? 'null');
        expect(returnsOrThrows400(() => parseCreateBody(kind, body))).toBe(true);
        expect(returnsOrThrows400(() => parsePatchBody(kind, body, id))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('returns only known fields, with values of their declared types', () => {
    fc.assert(
      fc.property(bodies, (generated) => {
        const body: unknown = JSON.parse(JSON.stringify(generated) ?? 'null');
        let changes: Record<string, unknown>;
        try {
          changes = parsePatchBody(kind, body, pathId);
        } catch {
          return;
        }
        for (const [name, value] of Object.entries(changes)) {
          const field = kind.fields[name as keyof typeof kind.fields];
          expect(field, name).toBeDefined();
          if (value === null) {
            expect(field.required).toBe(false);
            continue;
          }
          const expected = {
            string: 'string',
            int: 'number',
            int64: 'number',
            float: 'number',
            bool: 'boolean',
            time: 'object',
          }[field.type];
          expect(typeof value, name).toBe(expected);
          if (field.type === 'time') expect(Number.isNaN((value as Date).getTime())).toBe(false);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
