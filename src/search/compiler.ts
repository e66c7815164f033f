import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { parseTimestamp } from '../values/timestamp.ts';
import type { FieldPath, Literal, SearchExpression } from './ast.ts';
import { SearchError } from './errors.ts';
import { type ResolvedField, resolveField, type Searchable } from './searchable.ts';

export interface CompiledSearch {
  readonly where: RawBuilder<SqlBool>;
  readonly relations: ReadonlySet<string>; // the relations the condition reaches through: to be joined
}

// Compiles a search tree to a SQL condition. Columns come from the allow-list only, operators from a
// fixed set, and every value is bound as a parameter after being checked against the field's type.
export function compileSearch(expression: SearchExpression, searchable: Searchable): CompiledSearch {
  const relations = new Set<string>();
  const resolve = (path: FieldPath): ResolvedField => {
    const field = resolveField(searchable, path.parts, path.position);
    if (field.relation) relations.add(field.relation);
    return field;
  };
  const compile = (node: SearchExpression): RawBuilder<SqlBool> => {
    switch (node.type) {
      case 'and':
        return sql<SqlBool>`(${compile(node.left)} and ${compile(node.right)})`;
      case 'or':
        return sql<SqlBool>`(${compile(node.left)} or ${compile(node.right)})`;
      case 'not':
        return sql<SqlBool>`(not ${compile(node.expression)})`;
      case 'compare': {
        const field = resolve(node.field);
        if (field.type === 'boolean' && node.operator !== '=' && node.operator !== '!=') {
          throw new SearchError(`'${field.name}' is a boolean: compare it with = or !=`, node.field.position);
        }
        return sql<SqlBool>`${column(field)} ${sql.raw(node.operator === '!=' ? '<>' : node.operator)} ${bind(field, node.value)}`;
      }
      case 'like': {
        const field = resolve(node.field);
        if (field.type !== 'string') {
          throw new SearchError(
            `'${field.name}' is not text: like and ilike apply to text fields`,
            node.field.position,
          );
        }
        if (typeof node.pattern.value === 'string' && endsWithLoneEscape(node.pattern.value)) {
          throw new SearchError('a like pattern cannot end with a lone backslash', node.pattern.position);
        }
        const operator = `${node.negated ? 'not ' : ''}${node.caseInsensitive ? 'ilike' : 'like'}`;
        const like = sql<SqlBool>`${column(field)} ${sql.raw(operator)} ${bind(field, node.pattern)}`;
        const prefix =
          field.prefixIndex &&
          !node.negated &&
          !node.caseInsensitive &&
          typeof node.pattern.value === 'string'
            ? literalPrefix(node.pattern.value, field.prefixIndex)
            : undefined;
        if (!prefix || !field.prefixIndex) return like;
        // The same rows, and a range of the prefix index (text_pattern_ops compares bytes, as ~>=~ and
        // ~<~ do): operators with parameters, so even a plan prepared once uses the index.
        const start = sql`left(${column(field)}, ${sql.lit(field.prefixIndex)})`;
        const end = after(prefix);
        return sql<SqlBool>`(${start} ~>=~ ${prefix}${end === undefined ? sql`` : sql` and ${start} ~<~ ${end}`} and ${like})`;
      }
      case 'in': {
        const field = resolve(node.field);
        const values = sql.join(node.values.map((value) => bind(field, value)));
        return sql<SqlBool>`${column(field)} ${sql.raw(node.negated ? 'not in' : 'in')} (${values})`;
      }
      case 'null': {
        const field = resolve(node.field);
        return sql<SqlBool>`${column(field)} ${sql.raw(node.negated ? 'is not null' : 'is null')}`;
      }
      case 'between': {
        const field = resolve(node.field);
        const operator = node.negated ? 'not between' : 'between';
        return sql<SqlBool>`${column(field)} ${sql.raw(operator)} ${bind(field, node.low)} and ${bind(field, node.high)}`;
      }
    }
  };
  return { where: compile(expression), relations };
}

function column(field: ResolvedField): RawBuilder<unknown> {
  return sql.ref(field.qualifiedColumn);
}

// The value as PostgreSQL must receive it for the field's type, or a SearchError naming the mismatch.
function bind(field: ResolvedField, literal: Literal): RawBuilder<unknown> {
  const { value, position } = literal;
  const mismatch = (expected: string): SearchError =>
    new SearchError(`'${field.name}' needs ${expected}, not ${JSON.stringify(value)}`, position);
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw mismatch('a quoted string');
      if (value.includes('\u0000')) throw new SearchError('text cannot contain a NUL character', position);
      return sql.val(value);
    case 'integer':
      if (!isInt32(value)) throw mismatch('a 32-bit integer');
      return sql.val(value);
    case 'bigint':
      if (!Number.isSafeInteger(value)) throw mismatch('an integer');
      return sql.val(value);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw mismatch('a number');
      return sql.val(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch('true or false');
      return sql.val(value);
    case 'time': {
      const date = typeof value === 'string' ? parseTimestamp(value, { lenient: true }) : undefined;
      if (!date) throw mismatch("a timestamp such as '2024-01-31T12:00:00Z'");
      return sql.val(date);
    }
  }
}

function isInt32(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31;
}

// The literal text a like pattern starts with (escapes resolved), at most `limit` characters: what the
// first `limit` characters of every matching value start with. Undefined when it starts with a wildcard.
function literalPrefix(pattern: string, limit: number): string | undefined {
  const literal: string[] = [];
  const characters = [...pattern];
  for (let index = 0; index < characters.length && literal.length < limit; index++) {
    const character = characters[index] as string;
    if (character === '%' || character === '_') break;
    literal.push(character === '\\' ? (characters[++index] ?? '') : character);
  }
  return literal.length > 0 ? literal.join('') : undefined;
}

// The least text after every text that starts with `prefix`, in byte (code point) order: its last
// character one higher. Undefined when no such text exists (the prefix ends in U+10FFFF).
function after(prefix: string): string | undefined {
  const characters = [...prefix];
  const code = characters.pop()?.codePointAt(0) ?? 0x10ffff;
  // A lone surrogate reaches PostgreSQL as U+FFFD, in the pattern as in the values.
  const last = code >= 0xd800 && code <= 0xdfff ? 0xfffd : code;
  if (last === 0x10ffff) return undefined;
  const next = last + 1 === 0xd800 ? 0xe000 : last + 1; // surrogates are no characters
  return `${characters.join('')}${String.fromCodePoint(next)}`;
}

// PostgreSQL fails on a like pattern whose last character is an escape with nothing to escape.
function endsWithLoneEscape(pattern: string): boolean {
  return /(^|[^\\])(\\\\)*\\$/.test(pattern);
}
