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
        // The same rows, and a condition the prefix index reads as a range.
        return prefix
          ? sql<SqlBool>`(left(${column(field)}, ${sql.lit(field.prefixIndex)}) like ${prefix} and ${like})`
          : like;
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

// The pattern of the literal start of a like pattern (escapes kept), then %: what the first `limit`
// characters of every matching value match. Undefined when the pattern starts with a wildcard, or its
// literal start is longer than `limit` characters.
function literalPrefix(pattern: string, limit: number): string | undefined {
  let prefix = '';
  let length = 0;
  const characters = [...pattern];
  for (let index = 0; index < characters.length; index++) {
    const character = characters[index] as string;
    if (character === '%' || character === '_') break;
    const escaped = character === '\\' ? `\\${characters[++index] ?? ''}` : character;
    prefix += escaped;
    length += 1;
  }
  return length > 0 && length <= limit ? `${prefix}%` : undefined;
}

// PostgreSQL fails on a like pattern whose last character is an escape with nothing to escape.
function endsWithLoneEscape(pattern: string): boolean {
  return /(^|[^\\])(\\\\)*\\$/.test(pattern);
}
