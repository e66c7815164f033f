// fast-check generators of VALID search expressions (docs/search.md#the-search-language) over the Dinosaur
// fields: `species` and `id` (text), `created_at` and `updated_at` (timestamps). Each sample is the text a
// client would send and the tree the parser must build from it (positions left out), so tests can check both
// that the text is accepted and that it means what it says. Keywords come in any case, whitespace varies,
// fields are sometimes table-qualified and parentheses are added where precedence needs them and, at random,
// where it does not.
import fc from 'fast-check';
import type { ComparisonOperator, LiteralValue, SearchExpression } from '../../src/search/ast.ts';

export type SearchShape =
  | { readonly type: 'and' | 'or'; readonly left: SearchShape; readonly right: SearchShape }
  | { readonly type: 'not'; readonly expression: SearchShape }
  | {
      readonly type: 'compare';
      readonly field: readonly string[];
      readonly operator: ComparisonOperator;
      readonly value: LiteralValue;
    }
  | {
      readonly type: 'like';
      readonly field: readonly string[];
      readonly pattern: LiteralValue;
      readonly caseInsensitive: boolean;
      readonly negated: boolean;
    }
  | {
      readonly type: 'in';
      readonly field: readonly string[];
      readonly values: readonly LiteralValue[];
      readonly negated: boolean;
    }
  | { readonly type: 'null'; readonly field: readonly string[]; readonly negated: boolean }
  | {
      readonly type: 'between';
      readonly field: readonly string[];
      readonly low: LiteralValue;
      readonly high: LiteralValue;
      readonly negated: boolean;
    };

export interface GeneratedSearch {
  readonly text: string;
  readonly shape: SearchShape;
}

export const dinosaurTextFields = ['species', 'id'] as const;
export const dinosaurTimeFields = ['created_at', 'updated_at'] as const;

// Precedence of what a rendered piece of text is, loosest first: an `or`, an `and`, a `not`, or something
// that needs no parentheses anywhere (a condition or a parenthesised expression).
const OR = 0;
const AND = 1;
const NOT = 2;
const ATOM = 3;

interface Rendered extends GeneratedSearch {
  readonly level: number;
}

const space = fc.constantFrom(' ', '  ', '\t', '\n', ' \r\n ');
const optionalSpace = fc.constantFrom('', ' ', '\t');

// A keyword as a client might spell it: `and`, `AND` or `And`.
function keyword(word: string): fc.Arbitrary<string> {
  return fc.constantFrom(word, word.toUpperCase(), `${word.charAt(0).toUpperCase()}${word.slice(1)}`);
}

function quoted(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

// Text values: printable ASCII, any Unicode grapheme, and values that look like SQL or like the language.
const textValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom(
    'bronto_1',
    'bronto_20',
    "it's",
    "''",
    '',
    'a b',
    '(x)',
    ', ',
    'and or not',
    '\\',
    'x\\',
    "'; drop table dinosaurs; --",
    '%',
  ),
);

// LIKE patterns with wildcards. Backslashes are left out: a pattern ending in PostgreSQL's escape
// character is a pattern error, which the integration tests check on their own.
const likePattern: fc.Arbitrary<string> = fc.oneof(
  textValue.map((value) => value.replaceAll('\\', '')),
  fc.constantFrom('bronto_1%', '%', '_%', '%_2', 'BRONTO%', '%o%'),
);

// Timestamps in the forms the service documents: full RFC 3339, a date, a space instead of `T`, an offset.
const timeValue: fc.Arbitrary<string> = fc
  .tuple(
    fc.date({
      min: new Date('1900-01-01T00:00:00.000Z'),
      max: new Date('2199-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
    fc.constantFrom('iso', 'date', 'space', 'offset', 'minutes'),
  )
  .map(([date, form]) => {
    const iso = date.toISOString();
    switch (form) {
      case 'date':
        return iso.slice(0, 10);
      case 'space':
        return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
      case 'offset':
        return `${iso.slice(0, 19)}+05:30`;
      case 'minutes':
        return `${iso.slice(0, 16)}Z`;
      default:
        return iso;
    }
  });

interface FieldChoice {
  readonly parts: readonly string[];
  readonly text: string;
  readonly value: fc.Arbitrary<string>;
}

function fieldOf(names: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<FieldChoice> {
  return fc.tuple(fc.constantFrom(...names), fc.boolean()).map(([name, qualified]) => ({
    parts: qualified ? ['dinosaurs', name] : [name],
    text: qualified ? `dinosaurs.${name}` : name,
    value,
  }));
}

const textField = fieldOf(dinosaurTextFields, textValue);
const anyField = fc.oneof(textField, fieldOf(dinosaurTimeFields, timeValue));

const operators = ['=', '!=', '<>', '<', '<=', '>', '>='] as const;

const compare: fc.Arbitrary<Rendered> = anyField.chain((field) =>
  fc
    .tuple(fc.constantFrom(...operators), field.value, optionalSpace, optionalSpace)
    .map(([operator, value, before, after]) => ({
      text: `${field.text}${before}${operator}${after}${quoted(value)}`,
      shape: {
        type: 'compare',
        field: field.parts,
        operator: operator === '<>' ? '!=' : operator,
        value,
      },
      level: ATOM,
    })),
);

const like: fc.Arbitrary<Rendered> = fc
  .tuple(
    textField,
    fc.boolean(),
    fc.boolean(),
    keyword('not'),
    keyword('like'),
    keyword('ilike'),
    likePattern,
  )
  .map(([field, negated, caseInsensitive, not, likeWord, ilikeWord, pattern]) => ({
    text: `${field.text} ${negated ? `${not} ` : ''}${caseInsensitive ? ilikeWord : likeWord} ${quoted(pattern)}`,
    shape: { type: 'like', field: field.parts, pattern, caseInsensitive, negated },
    level: ATOM,
  }));

const inList: fc.Arbitrary<Rendered> = anyField.chain((field) =>
  fc
    .tuple(
      fc.array(field.value, { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      keyword('not'),
      keyword('in'),
      optionalSpace,
    )
    .map(([values, negated, not, inWord, gap]) => ({
      text: `${field.text} ${negated ? `${not} ` : ''}${inWord}${gap}(${gap}${values.map(quoted).join(`${gap},${gap}`)}${gap})`,
      shape: { type: 'in', field: field.parts, values, negated },
      level: ATOM,
    })),
);

const isNull: fc.Arbitrary<Rendered> = fc
  .tuple(anyField, fc.boolean(), keyword('is'), keyword('not'), keyword('null'), space)
  .map(([field, negated, is, not, nullWord, gap]) => ({
    text: `${field.text}${gap}${is}${gap}${negated ? `${not}${gap}` : ''}${nullWord}`,
    shape: { type: 'null', field: field.parts, negated },
    level: ATOM,
  }));

const between: fc.Arbitrary<Rendered> = anyField.chain((field) =>
  fc
    .tuple(field.value, field.value, fc.boolean(), keyword('not'), keyword('between'), keyword('and'))
    .map(([low, high, negated, not, betweenWord, andWord]) => ({
      text: `${field.text} ${negated ? `${not} ` : ''}${betweenWord} ${quoted(low)} ${andWord} ${quoted(high)}`,
      shape: { type: 'between', field: field.parts, low, high, negated },
      level: ATOM,
    })),
);

const condition: fc.Arbitrary<Rendered> = fc.oneof(compare, like, inList, isNull, between);

// Parentheses 1 time in 5 even where precedence does not need them.
const extraParentheses = fc.nat(4).map((n) => n === 0);

// `node` as an operand that must bind at least as tightly as `minimum`.
function operand(node: Rendered, minimum: number, parenthesise: boolean, gap: string): string {
  return node.level < minimum || parenthesise ? `(${gap}${node.text}${gap})` : node.text;
}

const expression = fc.letrec<{ node: Rendered }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 5 },
    condition,
    fc.tuple(tie('node'), tie('node'), keyword('or'), extraParentheses, extraParentheses, optionalSpace).map(
      ([left, right, word, p1, p2, gap]): Rendered => ({
        text: `${operand(left, OR, p1, gap)} ${word} ${operand(right, AND, p2, gap)}`,
        shape: { type: 'or', left: left.shape, right: right.shape },
        level: OR,
      }),
    ),
    fc.tuple(tie('node'), tie('node'), keyword('and'), extraParentheses, extraParentheses, optionalSpace).map(
      ([left, right, word, p1, p2, gap]): Rendered => ({
        text: `${operand(left, AND, p1, gap)} ${word} ${operand(right, NOT, p2, gap)}`,
        shape: { type: 'and', left: left.shape, right: right.shape },
        level: AND,
      }),
    ),
    fc.tuple(tie('node'), keyword('not'), extraParentheses, space).map(
      ([inner, word, p, gap]): Rendered => ({
        text: `${word}${gap}${operand(inner, NOT, p, '')}`,
        shape: { type: 'not', expression: inner.shape },
        level: NOT,
      }),
    ),
  ),
})).node;

// A valid search over the Dinosaur fields, sometimes wrapped in parentheses or surrounded by spaces.
export const validDinosaurSearch: fc.Arbitrary<GeneratedSearch> = fc
  .tuple(expression, extraParentheses, optionalSpace, optionalSpace)
  .map(([node, parenthesise, before, after]) => ({
    text: `${before}${operand(node, OR, parenthesise, '')}${after}`,
    shape: node.shape,
  }));

// The values of a shape in the order they appear in the text (and so in the SQL parameters).
export function literalsOf(shape: SearchShape): LiteralValue[] {
  switch (shape.type) {
    case 'and':
    case 'or':
      return [...literalsOf(shape.left), ...literalsOf(shape.right)];
    case 'not':
      return literalsOf(shape.expression);
    case 'compare':
      return [shape.value];
    case 'like':
      return [shape.pattern];
    case 'in':
      return [...shape.values];
    case 'null':
      return [];
    case 'between':
      return [shape.low, shape.high];
  }
}

// The field a shape's literal is compared with, in the same order as literalsOf.
export function literalFieldsOf(shape: SearchShape): string[] {
  switch (shape.type) {
    case 'and':
    case 'or':
      return [...literalFieldsOf(shape.left), ...literalFieldsOf(shape.right)];
    case 'not':
      return literalFieldsOf(shape.expression);
    case 'in':
      return shape.values.map(() => shape.field.at(-1) ?? '');
    case 'null':
      return [];
    case 'between':
      return [shape.field.at(-1) ?? '', shape.field.at(-1) ?? ''];
    default:
      return [shape.field.at(-1) ?? ''];
  }
}

// A parsed tree without its positions, to compare with a generated shape.
export function shapeOf(expression: SearchExpression): SearchShape {
  switch (expression.type) {
    case 'and':
    case 'or':
      return { type: expression.type, left: shapeOf(expression.left), right: shapeOf(expression.right) };
    case 'not':
      return { type: 'not', expression: shapeOf(expression.expression) };
    case 'compare':
      return {
        type: 'compare',
        field: expression.field.parts,
        operator: expression.operator,
        value: expression.value.value,
      };
    case 'like':
      return {
        type: 'like',
        field: expression.field.parts,
        pattern: expression.pattern.value,
        caseInsensitive: expression.caseInsensitive,
        negated: expression.negated,
      };
    case 'in':
      return {
        type: 'in',
        field: expression.field.parts,
        values: expression.values.map((value) => value.value),
        negated: expression.negated,
      };
    case 'null':
      return { type: 'null', field: expression.field.parts, negated: expression.negated };
    case 'between':
      return {
        type: 'between',
        field: expression.field.parts,
        low: expression.low.value,
        high: expression.high.value,
        negated: expression.negated,
      };
  }
}
