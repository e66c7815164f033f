// The search compiler and the orderBy parser (docs/search.md): the exact SQL and bound parameters each
// construct compiles to, the field allow-list, type checking of values, and property tests over random
// and generated input. Compiled with a Kysely instance that has no database behind it.
import fc from 'fast-check';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type RawBuilder,
  type SqlBool,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { fossilKind } from '../../src/kinds/fossils/model.ts';
import { kindListable } from '../../src/kinds/framework/listable.ts';
import { compileSearch } from '../../src/search/compiler.ts';
import { SearchError } from '../../src/search/errors.ts';
import { parseOrderBy } from '../../src/search/order.ts';
import { parseSearch } from '../../src/search/parser.ts';
import type { Searchable } from '../../src/search/searchable.ts';
import { thrownSearchError } from '../support/expectations.ts';
import { literalFieldsOf, literalsOf, shapeOf, validDinosaurSearch } from '../support/search-arbitraries.ts';

// biome-ignore lint/suspicious/noExplicitAny: a cold instance compiles queries over any table
const db = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (instance) => new PostgresIntrospector(instance),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

// A dinosaur's species has a prefix index (its like gets a second condition, tested on its own below);
// the operator tests read the plain form.
const indexedDinosaurs = kindListable(dinosaurKind).searchable;
const dinosaurs: Searchable = {
  ...indexedDinosaurs,
  fields: Object.fromEntries(
    Object.entries(indexedDinosaurs.fields).map(([name, { prefixIndex: _, ...field }]) => [name, field]),
  ),
};

// A Kind with a field of every type; `discovered` is stored in a column of another name.
const specimens: Searchable = {
  table: 'specimens',
  fields: {
    name: { column: 'name', type: 'string' },
    legs: { column: 'legs', type: 'integer' },
    population: { column: 'population', type: 'bigint' },
    weight: { column: 'weight', type: 'number' },
    extinct: { column: 'extinct', type: 'boolean' },
    discovered: { column: 'discovered_on', type: 'time' },
  },
};

function where(condition: RawBuilder<SqlBool>, table: string) {
  const { sql, parameters } = db.selectFrom(table).selectAll().where(condition).compile();
  return { sql, parameters: [...parameters] };
}

// The SQL and parameters of `select * from <table> where <search>`.
function compiled(search: string, searchable: Searchable = dinosaurs) {
  return where(compileSearch(parseSearch(search), searchable).where, searchable.table);
}

const selectDinosaurs = 'select * from "dinosaurs" where ';
const selectSpecimens = 'select * from "specimens" where ';

const thrown = thrownSearchError;

const refusal = (search: string, searchable: Searchable = specimens): SearchError =>
  thrown(() => compiled(search, searchable));

describe('compileSearch: SQL for each operator', () => {
  it.each([
    ["species = 'x'", '"dinosaurs"."species" = $1'],
    ["species != 'x'", '"dinosaurs"."species" <> $1'],
    ["species <> 'x'", '"dinosaurs"."species" <> $1'],
    ["species < 'x'", '"dinosaurs"."species" < $1'],
    ["species <= 'x'", '"dinosaurs"."species" <= $1'],
    ["species > 'x'", '"dinosaurs"."species" > $1'],
    ["species >= 'x'", '"dinosaurs"."species" >= $1'],
    ["species like 'x'", '"dinosaurs"."species" like $1'],
    ["species ilike 'x'", '"dinosaurs"."species" ilike $1'],
    ["species not like 'x'", '"dinosaurs"."species" not like $1'],
    ["species NOT ILIKE 'x'", '"dinosaurs"."species" not ilike $1'],
    ["species in ('x')", '"dinosaurs"."species" in ($1)'],
    ["species not in ('x')", '"dinosaurs"."species" not in ($1)'],
    ["species between 'x' and 'x'", '"dinosaurs"."species" between $1 and $2'],
    ["species not between 'x' and 'x'", '"dinosaurs"."species" not between $1 and $2'],
  ])('compiles %j', (search, condition) => {
    const { sql, parameters } = compiled(search);
    expect(sql).toBe(`${selectDinosaurs}${condition}`);
    expect(parameters).toEqual(condition.includes('$2') ? ['x', 'x'] : ['x']);
  });

  const range = '(left("dinosaurs"."species", 200) ~>=~ $1 and left("dinosaurs"."species", 200) ~<~ $2';
  it.each([
    ["species like 'T%'", ['T', 'U', 'T%']],
    ["species like 'Tyranno_aurus%'", ['Tyranno', 'Tyrannp', 'Tyranno_aurus%']],
    ["species like 'a\\%b%'", ['a%b', 'a%c', 'a\\%b%']],
    ["species like 'rex'", ['rex', 'rey', 'rex']],
    ["species like 'z\u{D7FF}%'", ['z\u{D7FF}', 'z\u{E000}', 'z\u{D7FF}%']],
  ])('adds to %j the range of its prefix index', (search, parameters) => {
    expect(compiled(search, indexedDinosaurs)).toEqual({
      sql: `${selectDinosaurs}${range} and "dinosaurs"."species" like $3)`,
      parameters,
    });
  });

  it('bounds a prefix ending in a lone surrogate as PostgreSQL stores it, U+FFFD', () => {
    expect(compiled("species like 'a\u{DC00}%'", indexedDinosaurs).parameters).toEqual([
      'a\u{DC00}',
      'a\u{FFFE}',
      'a\u{DC00}%',
    ]);
  });

  it('bounds a prefix ending in the last character from below only', () => {
    expect(compiled("species like 'a\u{10FFFF}%'", indexedDinosaurs)).toEqual({
      sql: `${selectDinosaurs}(left("dinosaurs"."species", 200) ~>=~ $1 and "dinosaurs"."species" like $2)`,
      parameters: ['a\u{10FFFF}', 'a\u{10FFFF}%'],
    });
  });

  it.each([
    ["species like '%rex'", 'a pattern that starts with a wildcard'],
    ["species like '_rex'", 'a pattern that starts with a wildcard'],
    ["species ilike 'T%'", 'ilike (the index compares bytes)'],
    ["species not like 'T%'", 'not like (not a range)'],
  ])('leaves %j as it is: %s', (search) => {
    expect(compiled(search, indexedDinosaurs)).toEqual(compiled(search));
  });

  it('takes at most the 200 characters the index holds, counting characters, not UTF-16 units', () => {
    const long = `${'🦖'.repeat(250)}%`;
    const { parameters } = compiled(`species like '${long}'`, indexedDinosaurs);
    expect(parameters).toEqual(['🦖'.repeat(200), `${'🦖'.repeat(199)}\u{1F997}`, long]);
  });

  it('compiles is null and is not null with no parameters', () => {
    expect(compiled('species is null')).toEqual({
      sql: `${selectDinosaurs}"dinosaurs"."species" is null`,
      parameters: [],
    });
    expect(compiled('updated_at is not null')).toEqual({
      sql: `${selectDinosaurs}"dinosaurs"."updated_at" is not null`,
      parameters: [],
    });
  });

  it('binds every value of an in list, in order', () => {
    expect(compiled("id in ('a', 'b', 'c')")).toEqual({
      sql: `${selectDinosaurs}"dinosaurs"."id" in ($1, $2, $3)`,
      parameters: ['a', 'b', 'c'],
    });
  });

  it('binds values exactly as written, never splicing them into the SQL', () => {
    const { sql, parameters } = compiled(
      "species = 'x''; drop table dinosaurs; --' or species like '%'' or ''1''=''1' or id = '\\'",
    );
    expect(sql).toBe(
      `${selectDinosaurs}(("dinosaurs"."species" = $1 or "dinosaurs"."species" like $2) or "dinosaurs"."id" = $3)`,
    );
    expect(parameters).toEqual(["x'; drop table dinosaurs; --", "%' or '1'='1", '\\']);
  });

  it('accepts the table name as a prefix and always qualifies columns with it', () => {
    expect(compiled("dinosaurs.species = 'x'")).toEqual(compiled("species = 'x'"));
    expect(compiled('specimens.legs = 3', specimens)).toEqual({
      sql: `${selectSpecimens}"specimens"."legs" = $1`,
      parameters: [3],
    });
  });

  it('uses the column of a field, not its JSON name', () => {
    expect(compiled("discovered > '2024-01-01'", specimens)).toEqual({
      sql: `${selectSpecimens}"specimens"."discovered_on" > $1`,
      parameters: [new Date('2024-01-01T00:00:00.000Z')],
    });
  });
});

describe('compileSearch: and, or, not', () => {
  it('parenthesises every and, or and not, so the SQL keeps the parsed grouping', () => {
    expect(compiled("species = 'a' or species = 'b' and id = 'c'")).toEqual({
      sql: `${selectDinosaurs}("dinosaurs"."species" = $1 or ("dinosaurs"."species" = $2 and "dinosaurs"."id" = $3))`,
      parameters: ['a', 'b', 'c'],
    });
    expect(compiled("(species = 'a' or species = 'b') and id = 'c'")).toEqual({
      sql: `${selectDinosaurs}(("dinosaurs"."species" = $1 or "dinosaurs"."species" = $2) and "dinosaurs"."id" = $3)`,
      parameters: ['a', 'b', 'c'],
    });
  });

  it('compiles not around a single condition and around a group', () => {
    expect(compiled("not species = 'a' and id = 'b'")).toEqual({
      sql: `${selectDinosaurs}((not "dinosaurs"."species" = $1) and "dinosaurs"."id" = $2)`,
      parameters: ['a', 'b'],
    });
    expect(compiled("not (species = 'a' or id = 'b')")).toEqual({
      sql: `${selectDinosaurs}(not ("dinosaurs"."species" = $1 or "dinosaurs"."id" = $2))`,
      parameters: ['a', 'b'],
    });
    expect(compiled('not not species is null').sql).toBe(
      `${selectDinosaurs}(not (not "dinosaurs"."species" is null))`,
    );
  });

  it('numbers parameters across a nested query in reading order', () => {
    expect(
      compiled(
        "species in ('a', 'b') and (created_at between '2024-01-01' and '2024-02-01' or not id like 'c%')",
      ),
    ).toEqual({
      sql: `${selectDinosaurs}("dinosaurs"."species" in ($1, $2) and ("dinosaurs"."created_at" between $3 and $4 or (not "dinosaurs"."id" like $5)))`,
      parameters: [
        'a',
        'b',
        new Date('2024-01-01T00:00:00.000Z'),
        new Date('2024-02-01T00:00:00.000Z'),
        'c%',
      ],
    });
  });
});

describe('compileSearch: values must fit the field type', () => {
  it('binds values of the right type as the right JavaScript type', () => {
    expect(compiled("name = 'Sue'", specimens).parameters).toEqual(['Sue']);
    expect(compiled('legs = 4', specimens).parameters).toEqual([4]);
    expect(compiled('legs = -2147483647', specimens).parameters).toEqual([-2147483647]);
    expect(compiled('legs = 2147483647', specimens).parameters).toEqual([2147483647]);
    expect(compiled('population = 9007199254740991', specimens).parameters).toEqual([9007199254740991]);
    expect(compiled('weight = -8.25', specimens).parameters).toEqual([-8.25]);
    expect(compiled('weight = 3', specimens).parameters).toEqual([3]);
    expect(compiled('extinct = true', specimens).parameters).toEqual([true]);
    expect(compiled('extinct != false', specimens).parameters).toEqual([false]);
  });

  it('accepts the smallest 32-bit integer for an integer field', () => {
    expect(compiled('legs = -2147483648', specimens).parameters).toEqual([-2147483648]);
  });

  it('binds a timestamp as a Date for the instant it names', () => {
    const { parameters } = compiled("discovered = '2024-01-31T12:00:00Z'", specimens);
    expect(parameters).toHaveLength(1);
    expect(parameters[0]).toBeInstanceOf(Date);
    expect((parameters[0] as Date).toISOString()).toBe('2024-01-31T12:00:00.000Z');
    const offset = compiled("discovered >= '2024-01-31T12:00:00.250+02:00'", specimens).parameters[0];
    expect((offset as Date).toISOString()).toBe('2024-01-31T10:00:00.250Z');
    const date = compiled("discovered < '2024-01-31'", specimens).parameters[0];
    expect((date as Date).toISOString()).toBe('2024-01-31T00:00:00.000Z');
  });

  it.each([
    ['name = 1', 7, /'name' needs a quoted string, not 1/],
    ['name = true', 7, /'name' needs a quoted string, not true/],
    ["legs = '4'", 7, /'legs' needs a 32-bit integer, not "4"/],
    ['legs = 1.5', 7, /'legs' needs a 32-bit integer, not 1\.5/],
    ['legs = 2147483648', 7, /'legs' needs a 32-bit integer, not 2147483648/],
    ['legs = -2147483649', 7, /'legs' needs a 32-bit integer/],
    ['legs = true', 7, /'legs' needs a 32-bit integer, not true/],
    ['population = 1152921504606846976', 13, /'population' needs an integer/],
    ['population = 2.5', 13, /'population' needs an integer, not 2\.5/],
    ["population = '1'", 13, /'population' needs an integer/],
    ["weight = '1.5'", 9, /'weight' needs a number, not "1\.5"/],
    ['weight = 1e400', 9, /'weight' needs a number/],
    ['extinct = 1', 10, /'extinct' needs true or false, not 1/],
    ["extinct = 'true'", 10, /'extinct' needs true or false, not "true"/],
    ['extinct < true', 0, /'extinct' is a boolean: compare it with = or !=/],
    ['extinct >= false', 0, /'extinct' is a boolean/],
    ["legs like '1%'", 0, /'legs' is not text: like and ilike apply to text fields/],
    ["discovered ilike '2024%'", 0, /'discovered' is not text/],
    ["extinct not like 't%'", 0, /'extinct' is not text/],
    [
      "discovered > 'yesterday'",
      13,
      /'discovered' needs a timestamp such as '2024-01-31T12:00:00Z', not "yesterday"/,
    ],
    ['discovered > 20240131', 13, /'discovered' needs a timestamp/],
    ["discovered = '2024-13-01'", 13, /'discovered' needs a timestamp.*2024-13-01/],
    ["discovered = '2024-01-31T12:00:00Z; drop table x'", 13, /'discovered' needs a timestamp/],
    ["name in ('a', 2)", 14, /'name' needs a quoted string, not 2/],
    ["legs not in (1, 'two')", 16, /'legs' needs a 32-bit integer, not "two"/],
    ["discovered between '2024-01-01' and 'now'", 36, /'discovered' needs a timestamp.*"now"/],
    ["legs between 'a' and 4", 13, /'legs' needs a 32-bit integer, not "a"/],
  ])('refuses %j at position %i', (search, position, message) => {
    const error = refusal(search);
    expect(error.kind).toBe('meaning');
    expect(error.message).toMatch(message);
    expect(error.position).toBe(position);
  });

  it('refuses an impossible calendar date instead of rolling it over', () => {
    const error = refusal("discovered < '2024-02-30'");
    expect(error.message).toMatch(/'discovered' needs a timestamp/);
  });

  it('allows is null on a field of any type', () => {
    for (const name of Object.keys(specimens.fields)) {
      const column = specimens.fields[name]?.column;
      expect(compiled(`${name} is null`, specimens).sql).toBe(
        `${selectSpecimens}"specimens"."${column}" is null`,
      );
    }
  });
});

describe('compileSearch: fields outside the allow-list', () => {
  it.each([
    ["nope = 'x'", 0, "unknown field 'nope'"],
    ["x = 'a' or nope is null", 0, "unknown field 'x'"],
    ["species = 'a' or nope is null", 17, "unknown field 'nope'"],
    ["Species = 'x'", 0, "unknown field 'Species'"],
    ['deleted_at is null', 0, "unknown field 'deleted_at'"],
    ["constructor = 'x'", 0, "unknown field 'constructor'"],
    ["__proto__ = 'x'", 0, "unknown field '__proto__'"],
    ["toString = 'x'", 0, "unknown field 'toString'"],
    ["foo.bar = 'x'", 0, "'foo.bar' is not a field of dinosaurs: it has no relations"],
    ["events.id = 'x'", 0, "'events.id' is not a field of dinosaurs: it has no relations"],
    ["a.b.c = 'x'", 0, "'a.b.c' is not a field of dinosaurs: it has no relations"],
    [
      "dinosaurs.species.x = 'x'",
      0,
      "'dinosaurs.species.x' is not a field of dinosaurs: it has no relations",
    ],
    ["dinosaurs.nope = 'x'", 0, "unknown field 'dinosaurs.nope'"],
    ["not (species = 'a' and colour in ('red'))", 23, "unknown field 'colour'"],
  ])('refuses %j', (search, position, message) => {
    const error = refusal(search, dinosaurs);
    expect(error.kind).toBe('meaning');
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
  });
});

describe('compileSearch: fields of related resources', () => {
  const fossils = kindListable(fossilKind).searchable;
  const compiledFossils = (search: string) => compileSearch(parseSearch(search), fossils);

  it('compiles a related field to the column of the joined relation, and names the relation', () => {
    const { where, relations } = compiledFossils("dinosaur.species = 'T' and site = 's'");
    const { sql, parameters } = db.selectFrom('fossils').selectAll().where(where).compile();
    expect(sql).toBe('select * from "fossils" where ("dinosaur"."species" = $1 and "fossils"."site" = $2)');
    expect(parameters).toEqual(['T', 's']);
    expect([...relations]).toEqual(['dinosaur']);
  });

  it('a search of its own fields joins nothing, the reference field included', () => {
    expect([...compiledFossils("site = 'x' or dinosaur_id = 'y'").relations]).toEqual([]);
  });

  it('checks related values against the related field type', () => {
    expect(thrown(() => compiledFossils('dinosaur.created_at > 3')).message).toBe(
      "'dinosaur.created_at' needs a timestamp such as '2024-01-31T12:00:00Z', not 3",
    );
  });

  it.each([
    ["dinosaur.nope = 'x'", "unknown field 'dinosaur.nope': 'dinosaur' has no field 'nope'"],
    [
      "dinosaur.deleted_at = 'x'",
      "unknown field 'dinosaur.deleted_at': 'dinosaur' has no field 'deleted_at'",
    ],
    [
      "dinosaur.dinosaur.species = 'x'",
      "'dinosaur.dinosaur.species' is not a field of fossils: its relations are dinosaur",
    ],
    ["dinosaurs.species = 'x'", "'dinosaurs.species' is not a field of fossils: its relations are dinosaur"],
    ["constructor.id = 'x'", "'constructor.id' is not a field of fossils: its relations are dinosaur"],
  ])('refuses %j', (search, message) => {
    expect(thrown(() => compiledFossils(search)).message).toBe(message);
  });

  it('orders by a related field', () => {
    const [term] = parseOrderBy('dinosaur.species desc', fossils);
    expect(term).toEqual({
      field: {
        name: 'dinosaur.species',
        column: 'species',
        type: 'string',
        qualifiedColumn: 'dinosaur.species',
        relation: 'dinosaur',
        prefixIndex: 200, // a like through the relation may use the dinosaurs' prefix index
      },
      direction: 'desc',
    });
  });
});

describe('parseOrderBy', () => {
  // Every field of a dinosaur is never null: species is required.
  const term = (name: string, direction: 'asc' | 'desc') => ({
    field: {
      name,
      column: name,
      type: name.endsWith('_at') ? 'time' : 'string',
      notNull: true,
      qualifiedColumn: `dinosaurs.${name}`,
    },
    direction,
  });

  it('defaults to asc and takes asc and desc in any case', () => {
    expect(parseOrderBy('species', dinosaurs)).toEqual([term('species', 'asc')]);
    expect(parseOrderBy('species asc', dinosaurs)).toEqual([term('species', 'asc')]);
    expect(parseOrderBy('species desc', dinosaurs)).toEqual([term('species', 'desc')]);
    expect(parseOrderBy('species DESC', dinosaurs)).toEqual([term('species', 'desc')]);
    expect(parseOrderBy('species Desc', dinosaurs)).toEqual([term('species', 'desc')]);
    expect(parseOrderBy('species ASC', dinosaurs)).toEqual([term('species', 'asc')]);
  });

  it('reads a comma list in order, trimming spaces around items', () => {
    expect(parseOrderBy(' species   desc ,created_at,  id ASC ', dinosaurs)).toEqual([
      term('species', 'desc'),
      term('created_at', 'asc'),
      term('id', 'asc'),
    ]);
  });

  it('accepts the table name as a prefix', () => {
    expect(parseOrderBy('dinosaurs.updated_at desc', dinosaurs)).toEqual([term('updated_at', 'desc')]);
  });

  it('resolves a field to its column', () => {
    expect(parseOrderBy('discovered desc', specimens)).toEqual([
      {
        field: {
          name: 'discovered',
          column: 'discovered_on',
          type: 'time',
          qualifiedColumn: 'specimens.discovered_on',
        },
        direction: 'desc',
      },
    ]);
  });

  it.each([
    ['nope', 'nope'],
    ['Species', 'Species'],
    ['deleted_at', 'deleted_at'],
    ['species descending', 'species descending'],
    ['species down', 'species down'],
    ['species asc desc', 'species asc desc'],
    ['species desc nulls first', 'species desc nulls first'],
    ['foo.species', 'foo.species'],
    ['a.b.c', 'a.b.c'],
    ['dinosaurs.', 'dinosaurs.'],
    ['species; drop table dinosaurs', 'species; drop table dinosaurs'],
    ['random()', 'random()'],
    ['(select 1)', '(select 1)'],
    ['1', '1'],
    ['"species"', '"species"'],
    ['species,', ''],
    [',species', ''],
    ['species,,id', ''],
    ['species desc, nope asc', 'nope asc'],
    ['  nope  desc  ', 'nope  desc'],
    ['constructor', 'constructor'],
  ])('refuses %j naming the item %j', (text, item) => {
    const error = thrown(() => parseOrderBy(text, dinosaurs));
    expect(error.message).toBe(`bad order value '${item}'`);
  });
});

// Strips from compiled SQL everything a search may legitimately put there; what is left came from
// somewhere else.
function unexplained(sql: string): string {
  return sql
    .replace(selectDinosaurs, '')
    .replace(/"dinosaurs"\."(species|id|created_at|updated_at)"/g, ' ')
    .replace(/\$\d+/g, ' ')
    .replace(/\b(and|or|not|like|ilike|in|is|null|between)\b/g, ' ')
    .replace(/<>|<=|>=|[=<>(),]/g, ' ')
    .trim();
}

describe('property tests', () => {
  it('parseSearch returns a tree or throws a positioned SearchError for any ASCII string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (input) => {
        try {
          parseSearch(input);
        } catch (error) {
          expect(error).toBeInstanceOf(SearchError);
          const { kind, position } = error as SearchError;
          expect(kind).toBe('syntax');
          expect(position).toBeGreaterThanOrEqual(0);
          expect(position).toBeLessThanOrEqual(input.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseSearch and compileSearch throw nothing but SearchError for any Unicode or binary string', () => {
    const input = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      // Fragments of the language, so that some inputs get past the lexer and parser.
      fc
        .array(
          fc.constantFrom(
            'species',
            'dinosaurs.id',
            'created_at',
            'foo.bar',
            '=',
            '<>',
            '>=',
            'like',
            'not',
            'in',
            'is',
            'null',
            'between',
            'and',
            'or',
            '(',
            ')',
            ',',
            "'x'",
            "'2024-01-01'",
            '1',
            '-2.5',
            'true',
            "'",
            ';',
          ),
          { maxLength: 12 },
        )
        .map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(input, (text) => {
        try {
          where(compileSearch(parseSearch(text), dinosaurs).where, 'dinosaurs');
        } catch (error) {
          expect(error).toBeInstanceOf(SearchError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('generated valid searches parse to the tree they were generated from', () => {
    fc.assert(
      fc.property(validDinosaurSearch, ({ text, shape }) => {
        expect(shapeOf(parseSearch(text))).toEqual(shape);
      }),
      { numRuns: 1000 },
    );
  });

  it('generated valid searches compile to SQL of allowed columns, operators and parameters only', () => {
    fc.assert(
      fc.property(validDinosaurSearch, ({ text, shape }) => {
        const { sql, parameters } = compiled(text);
        expect(unexplained(sql)).toBe('');
        const values = literalsOf(shape);
        const fields = literalFieldsOf(shape);
        expect(parameters).toHaveLength(values.length);
        parameters.forEach((parameter, index) => {
          if (fields[index]?.endsWith('_at')) {
            expect(parameter).toBeInstanceOf(Date);
            expect((parameter as Date).getTime()).toBe(new Date(values[index] as string).getTime());
          } else {
            expect(parameter).toBe(values[index]);
          }
        });
      }),
      { numRuns: 1000 },
    );
  });
});
