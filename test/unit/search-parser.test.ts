// Golden tests of the search language's lexer and parser (docs/search.md#the-search-language): the tokens and
// trees they build, and the syntax errors they report, with positions. No database.
import { describe, expect, it } from 'vitest';
import { type Token, tokenize } from '../../src/search/lexer.ts';
import { parseSearch } from '../../src/search/parser.ts';
import { thrownSearchError } from '../support/expectations.ts';
import { type SearchShape, shapeOf } from '../support/search-arbitraries.ts';

// The tree of `input`, without positions.
const parse = (input: string): SearchShape => shapeOf(parseSearch(input));

const field = (name: string): string[] => name.split('.');
const compare = (name: string, operator: string, value: string | number | boolean): SearchShape =>
  ({ type: 'compare', field: field(name), operator, value }) as SearchShape;
const and = (left: SearchShape, right: SearchShape): SearchShape => ({ type: 'and', left, right });
const or = (left: SearchShape, right: SearchShape): SearchShape => ({ type: 'or', left, right });
const not = (expression: SearchShape): SearchShape => ({ type: 'not', expression });

const thrown = thrownSearchError;

function syntaxError(input: string): { message: string; position: number | undefined } {
  const error = thrown(() => parseSearch(input));
  expect(error.kind, `${input}: ${error.message}`).toBe('syntax');
  return { message: error.message, position: error.position };
}

const kinds = (tokens: Token[]): string[] => tokens.map((token) => `${token.type}:${token.text}`);

describe('tokenize', () => {
  it('splits a query into typed tokens with their 0-based positions', () => {
    expect(tokenize("dinosaurs.species <> 'it''s' AND (n >= -1.5)")).toEqual([
      { type: 'identifier', text: 'dinosaurs.species', position: 0 },
      { type: 'operator', text: '!=', position: 18 },
      { type: 'string', text: "it's", position: 21 },
      { type: 'keyword', text: 'and', position: 29 },
      { type: '(', text: '(', position: 33 },
      { type: 'identifier', text: 'n', position: 34 },
      { type: 'operator', text: '>=', position: 36 },
      { type: 'number', text: '-1.5', position: 39 },
      { type: ')', text: ')', position: 43 },
      { type: 'end', text: '', position: 44 },
    ]);
  });

  it('reads every comparison operator, longest first, with or without spaces; <> reads as !=', () => {
    expect(
      kinds(tokenize('a=1 a!=1 a<>1 a<1 a<=1 a>1 a>=1')).filter((kind) => kind.startsWith('operator')),
    ).toEqual([
      'operator:=',
      'operator:!=',
      'operator:!=',
      'operator:<',
      'operator:<=',
      'operator:>',
      'operator:>=',
    ]);
    expect(kinds(tokenize("species<='b'"))).toEqual([
      'identifier:species',
      'operator:<=',
      'string:b',
      'end:',
    ]);
  });

  it('lower-cases keywords in any case but keeps identifiers as written', () => {
    expect(kinds(tokenize('AND Or nOT LIKE iLike In IS Null BETWEEN True FALSE Species'))).toEqual([
      'keyword:and',
      'keyword:or',
      'keyword:not',
      'keyword:like',
      'keyword:ilike',
      'keyword:in',
      'keyword:is',
      'keyword:null',
      'keyword:between',
      'keyword:true',
      'keyword:false',
      'identifier:Species',
      'end:',
    ]);
  });

  it('does not mistake identifiers that start with a keyword for keywords', () => {
    expect(kinds(tokenize('android order island notes nullable'))).toEqual([
      'identifier:android',
      'identifier:order',
      'identifier:island',
      'identifier:notes',
      'identifier:nullable',
      'end:',
    ]);
  });

  it('keeps spaces, commas, parentheses, operators and keywords inside quotes as string text', () => {
    expect(tokenize("'a b, (c) = and or not'")).toEqual([
      { type: 'string', text: 'a b, (c) = and or not', position: 0 },
      { type: 'end', text: '', position: 23 },
    ]);
  });

  it("unescapes '' to a quote, including at the ends of a string, and reads '' as the empty string", () => {
    expect(tokenize("'''x'''")[0]?.text).toBe("'x'");
    expect(tokenize("''")[0]).toEqual({ type: 'string', text: '', position: 0 });
    expect(tokenize("''''")[0]?.text).toBe("'");
  });

  it('keeps backslashes and double quotes in strings as they are', () => {
    expect(tokenize(String.raw`'a\'`)[0]?.text).toBe('a\\');
    expect(tokenize(`'say "hi"'`)[0]?.text).toBe('say "hi"');
  });

  it('reads integers, negative numbers, decimals and exponents', () => {
    expect(kinds(tokenize('1 -2 3.25 -0.5 1e3 2E-2'))).toEqual([
      'number:1',
      'number:-2',
      'number:3.25',
      'number:-0.5',
      'number:1e3',
      'number:2E-2',
      'end:',
    ]);
  });

  it('treats any whitespace as a separator', () => {
    expect(kinds(tokenize("\tspecies\n=\r\n'x'  "))).toEqual([
      'identifier:species',
      'operator:=',
      'string:x',
      'end:',
    ]);
  });

  it.each([
    ["species = 'abc", 10, 'unterminated string'],
    ["'", 0, 'unterminated string'],
    ["species = 'it''s", 10, 'unterminated string'],
    ["species = 'x';", 13, "unexpected character ';'"],
    ['species = "x"', 10, `unexpected character '"'`],
    ['species = `x`', 10, "unexpected character '`'"],
    ['species = - 1', 10, "unexpected character '-'"],
    ['species = 1abc', 11, 'unexpected character after number'],
    ['species ! 1', 8, "unexpected character '!'"],
    ['species = 1.', 11, "unexpected character '.'"],
    ['species -- comment', 8, "unexpected character '-'"],
    ["species = 'x' # c", 14, "unexpected character '#'"],
  ])('refuses %j at position %i: %s', (input, position, message) => {
    const error = thrown(() => tokenize(input));
    expect(error.kind).toBe('syntax');
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
  });
});

describe('parseSearch: operators', () => {
  it.each([
    ['=', '='],
    ['!=', '!='],
    ['<>', '!='],
    ['<', '<'],
    ['<=', '<='],
    ['>', '>'],
    ['>=', '>='],
  ])('parses %s as a %s comparison', (operator, parsed) => {
    expect(parse(`species ${operator} 'x'`)).toEqual(compare('species', parsed, 'x'));
  });

  it('keeps the positions of the field and the value', () => {
    expect(parseSearch("  species >= 'x'")).toEqual({
      type: 'compare',
      field: { parts: ['species'], position: 2 },
      operator: '>=',
      value: { value: 'x', position: 13 },
    });
  });

  it.each([
    ["species like 'b%'", false, false],
    ["species ilike 'b%'", true, false],
    ["species not like 'b%'", false, true],
    ["species not ilike 'b%'", true, true],
    ["species LIKE 'b%'", false, false],
    ["species Not ILike 'b%'", true, true],
  ])('parses %j', (input, caseInsensitive, negated) => {
    expect(parse(input)).toEqual({
      type: 'like',
      field: ['species'],
      pattern: 'b%',
      caseInsensitive,
      negated,
    });
  });

  it('parses in and not in lists of one or more values', () => {
    expect(parse("species in ('a')")).toEqual({
      type: 'in',
      field: ['species'],
      values: ['a'],
      negated: false,
    });
    expect(parse("species IN ('a', 'b','c' )")).toEqual({
      type: 'in',
      field: ['species'],
      values: ['a', 'b', 'c'],
      negated: false,
    });
    expect(parse('legs not in (1, -2, 3.5)')).toEqual({
      type: 'in',
      field: ['legs'],
      values: [1, -2, 3.5],
      negated: true,
    });
  });

  it('parses is null and is not null', () => {
    expect(parse('species is null')).toEqual({ type: 'null', field: ['species'], negated: false });
    expect(parse('species IS NOT NULL')).toEqual({ type: 'null', field: ['species'], negated: true });
  });

  it('parses between and not between, whose `and` is not a conjunction', () => {
    expect(parse("created_at between '2024-01-01' and '2024-12-31'")).toEqual({
      type: 'between',
      field: ['created_at'],
      low: '2024-01-01',
      high: '2024-12-31',
      negated: false,
    });
    expect(parse('legs NOT BETWEEN 1 AND 4 and b = 2')).toEqual(
      and({ type: 'between', field: ['legs'], low: 1, high: 4, negated: true }, compare('b', '=', 2)),
    );
  });

  it('parses true, false, integers, negative numbers and decimals as typed values', () => {
    expect(parse('a = true')).toEqual(compare('a', '=', true));
    expect(parse('a = FALSE')).toEqual(compare('a', '=', false));
    expect(parse('a = 42')).toEqual(compare('a', '=', 42));
    expect(parse('a = -7')).toEqual(compare('a', '=', -7));
    expect(parse('a = -0.25')).toEqual(compare('a', '=', -0.25));
    expect(parse('a=1.5e2')).toEqual(compare('a', '=', 150));
    expect(parse("a = '42'")).toEqual(compare('a', '=', '42'));
    expect(parse("a = 'true'")).toEqual(compare('a', '=', 'true'));
  });

  it('parses table-qualified identifiers into their parts (checking them is the compiler’s job)', () => {
    expect(parse("dinosaurs.species = 'x'")).toEqual(compare('dinosaurs.species', '=', 'x'));
    expect(parse("a.b.c = 'x'")).toEqual(compare('a.b.c', '=', 'x'));
  });
});

describe('parseSearch: strings', () => {
  it.each([
    ["species = 'it''s'", "it's"],
    ["species = 'a b  c'", 'a b  c'],
    ["species = 'a, b'", 'a, b'],
    ["species = '(x)'", '(x)'],
    ["species = ')'", ')'],
    ["species = 'x or 1 = 1'", 'x or 1 = 1'],
    ["species = 'and'", 'and'],
    ["species = 'not like'", 'not like'],
    ["species = ''", ''],
    ["species = ''''", "'"],
    ["species = 'x''; drop table dinosaurs; --'", "x'; drop table dinosaurs; --"],
    ["species = 'ünïcødé 🦕'", 'ünïcødé 🦕'],
  ])('reads %j as one value', (input, value) => {
    expect(parse(input)).toEqual(compare('species', '=', value));
  });

  it('keeps quoted keywords and commas inside an in list as values', () => {
    expect(parse("species in ('a, b', 'or', ')')")).toEqual({
      type: 'in',
      field: ['species'],
      values: ['a, b', 'or', ')'],
      negated: false,
    });
  });
});

describe('parseSearch: precedence', () => {
  const a = compare('a', '=', 1);
  const b = compare('b', '=', 2);
  const c = compare('c', '=', 3);

  it('binds and tighter than or', () => {
    expect(parse('a = 1 or b = 2 and c = 3')).toEqual(or(a, and(b, c)));
    expect(parse('a = 1 and b = 2 or c = 3')).toEqual(or(and(a, b), c));
  });

  it('binds not tighter than and', () => {
    expect(parse('not a = 1 and b = 2')).toEqual(and(not(a), b));
    expect(parse('a = 1 and not b = 2')).toEqual(and(a, not(b)));
    expect(parse('not a = 1 or b = 2')).toEqual(or(not(a), b));
  });

  it('groups and and or to the left', () => {
    expect(parse('a = 1 and b = 2 and c = 3')).toEqual(and(and(a, b), c));
    expect(parse('a = 1 or b = 2 or c = 3')).toEqual(or(or(a, b), c));
  });

  it('lets parentheses override precedence', () => {
    expect(parse('(a = 1 or b = 2) and c = 3')).toEqual(and(or(a, b), c));
    expect(parse('a = 1 and (b = 2 or c = 3)')).toEqual(and(a, or(b, c)));
    expect(parse('not (a = 1 and b = 2)')).toEqual(not(and(a, b)));
    expect(parse('a = 1 or (b = 2 or c = 3)')).toEqual(or(a, or(b, c)));
  });

  it('reads redundant parentheses as nothing', () => {
    expect(parse('((a = 1))')).toEqual(a);
    expect(parse('(((a = 1)) and ((b = 2)))')).toEqual(and(a, b));
  });

  it('reads not not as two negations', () => {
    expect(parse('NOT NOT a = 1')).toEqual(not(not(a)));
  });

  it('takes keywords in any case', () => {
    expect(parse('a = 1 OR b = 2 And c = 3')).toEqual(or(a, and(b, c)));
    expect(parse('Not a = 1 aNd b = 2')).toEqual(and(not(a), b));
  });

  it('tells `not` before a field from `not` after it', () => {
    expect(parse("not species like 'x'")).toEqual(
      not({ type: 'like', field: ['species'], pattern: 'x', caseInsensitive: false, negated: false }),
    );
    expect(parse("species not like 'x'")).toEqual({
      type: 'like',
      field: ['species'],
      pattern: 'x',
      caseInsensitive: false,
      negated: true,
    });
  });
});

describe('parseSearch: syntax errors and their positions', () => {
  it.each([
    ["species = 'abc", 10, /^unterminated string$/],
    ['species =', 9, /^expected a value .* but found the end$/],
    ["= 'x'", 0, /^expected a field name but found '='$/],
    ["species == 'x'", 9, /^expected a value .* but found '='$/],
    ["species 'x'", 8, /^expected an operator .* but found a string$/],
    ['species', 7, /^expected an operator .* but found the end$/],
    ["species = 'x' foo", 14, /^expected end of query but found 'foo'$/],
    ["species = 'x' 'y'", 14, /^expected end of query but found a string$/],
    ["species = 'x')", 13, /^expected end of query but found '\)'$/],
    ["(species = 'x'", 14, /^expected '\)' but found the end$/],
    ["((species = 'x')", 16, /^expected '\)' but found the end$/],
    ['()', 1, /^expected a field name but found '\)'$/],
    ["species = 'x';", 13, /^unexpected character ';'$/],
    ['species = "x"', 10, /^unexpected character '"'$/],
    ['', 0, /^expected a field name but found the end$/],
    ['   ', 3, /^expected a field name but found the end$/],
    ["species = 'x' and", 17, /^expected a field name but found the end$/],
    ["species = 'x' or or species = 'y'", 17, /^expected a field name but found 'or'$/],
    ["and species = 'x'", 0, /^expected a field name but found 'and'$/],
    ['species in ()', 12, /^expected a value .* but found '\)'$/],
    ["species in 'a'", 11, /^expected '\(' but found a string$/],
    ["species in ('a' 'b')", 16, /^expected '\)' or ',' but found a string$/],
    ["species in ('a',)", 16, /^expected a value .* but found '\)'$/],
    ['species is', 10, /^expected 'null' but found the end$/],
    ["species is 'x'", 11, /^expected 'null' but found a string$/],
    ['species is not', 14, /^expected 'null' but found the end$/],
    ["species between 'a'", 19, /^expected 'and' but found the end$/],
    ["species between 'a' or 'b'", 20, /^expected 'and' but found 'or'$/],
    ['species like', 12, /^expected a value .* but found the end$/],
    ['species like species', 13, /^expected a value .* but found 'species'$/],
    ['species = null', 10, /^expected a value .* but found 'null'$/],
    ["species not = 'x'", 12, /^expected an operator .* but found '='$/],
    ["species = 'x' or pg_sleep(5) is null", 25, /^expected an operator .* but found '\('$/],
    ["1 = 'x'", 0, /^expected a field name but found '1'$/],
    ["true = 'x'", 0, /^expected a field name but found 'true'$/],
    ["species. = 'x'", 0, /^malformed field name 'species\.'$/],
    ["dinosaurs..species = 'x'", 0, /^malformed field name 'dinosaurs\.\.species'$/],
  ])('refuses %j at position %i', (input, position, message) => {
    const error = syntaxError(input);
    expect(error.message).toMatch(message);
    expect(error.position).toBe(position);
  });
});

describe('parseSearch: limits', () => {
  const nested = (depth: number): string => `${'('.repeat(depth)}a = 1${')'.repeat(depth)}`;
  const negated = (depth: number): string => `${'not '.repeat(depth)}a = 1`;

  it('accepts 64 levels of parentheses and refuses 65', () => {
    let expected: SearchShape = compare('a', '=', 1);
    expect(parse(nested(64))).toEqual(expected);
    const error = syntaxError(nested(65));
    expect(error.message).toBe('nested more than 64 levels deep');
    expect(error.position).toBe(65);
    for (let i = 0; i < 64; i++) expected = not(expected);
    expect(parse(negated(64))).toEqual(expected);
  });

  it('counts not towards the same depth, and refuses 65 of them', () => {
    const error = syntaxError(negated(65));
    expect(error.message).toBe('nested more than 64 levels deep');
    expect(error.position).toBe(260);
    expect(syntaxError(`${'not ('.repeat(33)}a = 1${')'.repeat(33)}`).message).toBe(
      'nested more than 64 levels deep',
    );
    expect(() => parseSearch(`${'not ('.repeat(32)}a = 1${')'.repeat(32)}`)).not.toThrow();
  });

  it('refuses absurd nesting with a SearchError rather than exhausting the stack', () => {
    expect(syntaxError('('.repeat(200_000)).message).toBe('nested more than 64 levels deep');
    expect(syntaxError(`${'not '.repeat(100_000)}a = 1`).message).toBe('nested more than 64 levels deep');
  });

  it('accepts 1000 values and refuses the 1001st, at its position', () => {
    const list = (count: number): string => `a in (${Array.from({ length: count }, (_, i) => i).join(', ')})`;
    const shape = parse(list(1000));
    expect(shape).toMatchObject({ type: 'in', negated: false });
    expect((shape as { values?: unknown[] }).values).toHaveLength(1000);
    const text = list(1001);
    const error = syntaxError(text);
    expect(error.message).toBe('more than 1000 values');
    expect(error.position).toBe(text.indexOf(' 1000)') + 1);
  });

  it('counts the values of the whole query, not of one list', () => {
    const terms = (count: number): string => Array.from({ length: count }, (_, i) => `a = ${i}`).join(' or ');
    expect(() => parseSearch(terms(1000))).not.toThrow();
    expect(syntaxError(terms(1001)).message).toBe('more than 1000 values');
    expect(syntaxError(`a between 1 and 2 or ${terms(999)}`).message).toBe('more than 1000 values');
  });
});
