import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { badRequest } from '../../errors/catalogue.ts';
import type { OrderTerm } from '../../search/order.ts';
import type { SearchFieldType } from '../../search/searchable.ts';
import { parseTimestamp } from '../../values/timestamp.ts';
import type { KindRow } from './kind.ts';

// Cursor paging (docs/api.md#cursors): a cursor names the last row of a page by its values in the list's
// order, so the next page starts right after it, through the same index, at the same cost on page 10,000
// as on page 1. An offset would read and skip every row before the page.

/** One key of a list's order, in the order's terms. */
export interface OrderKey {
  /** The column, qualified: `dinosaurs.created_at`, or `dinosaur.species` through a relation. */
  readonly column: string;
  /** Where the row read holds its value: the column's name, or `<relation>.<field>` (selected so). */
  readonly rowKey: string;
  readonly direction: 'asc' | 'desc';
  readonly type: SearchFieldType;
  readonly notNull: boolean;
  /** The key is the column's first so many characters (an indexed text field's order index reads it). */
  readonly prefix?: number;
}

/** A key's SQL: its column, or the prefix of it that an order index holds. */
export function keyExpression(key: OrderKey): RawBuilder<unknown> {
  return key.prefix === undefined
    ? sql.ref(key.column)
    : sql`left(${sql.ref(key.column)}, ${sql.lit(key.prefix)})`;
}

/**
 * The order a list's rows are in: the terms asked for (by default `created_at`), then `id` unless named,
 * so no two rows tie and pages never overlap or skip a row.
 */
export function orderKeys(table: string, orderBy: readonly OrderTerm[]): OrderKey[] {
  const keys: OrderKey[] = orderBy.flatMap(({ field, direction }) => {
    const key: OrderKey = {
      column: field.qualifiedColumn,
      rowKey: field.relation ? field.qualifiedColumn : field.column,
      direction,
      type: field.type,
      notNull: field.notNull === true,
    };
    // An indexed text field sorts by its first characters, which its order index holds (values of any
    // length fit), then by the whole value: the same order, read from the index.
    return field.prefixIndex === undefined ? [key] : [{ ...key, prefix: field.prefixIndex }, key];
  });
  const own = (column: string, type: SearchFieldType): OrderKey => ({
    column: `${table}.${column}`,
    rowKey: column,
    direction: 'asc',
    type,
    notNull: true,
  });
  if (keys.length === 0) keys.push(own('created_at', 'time'));
  if (!keys.some((key) => key.column === `${table}.id`)) keys.push(own('id', 'string'));
  return keys;
}

/** The cursor of the page after `row`, the last row of a page. */
export function cursorAfter(keys: readonly OrderKey[], row: KindRow): string {
  const values = keys.map((key) => {
    const value = row[key.rowKey];
    if (key.prefix !== undefined && typeof value === 'string')
      return [...value].slice(0, key.prefix).join('');
    return value instanceof Date ? value.toISOString() : (value ?? null);
  });
  return Buffer.from(JSON.stringify([signature(keys), ...values])).toString('base64url');
}

/**
 * The values a cursor holds, checked against the list's order and the keys' types; a cursor of another
 * order, or one that is not a cursor, is 400 code 21.
 */
export function readCursor(token: string, keys: readonly OrderKey[]): unknown[] {
  const refuse = (why: string) => badRequest(`cursor is not a cursor of this list: ${why}`);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse('it does not decode');
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'string') throw refuse('it does not decode');
  const [order, ...values] = decoded as unknown[];
  if (order !== signature(keys)) throw refuse('it was made for another orderBy');
  if (values.length !== keys.length) throw refuse('it does not decode');
  values.forEach((value, index) => {
    const key = keys[index] as OrderKey;
    if (!fits(key, value)) throw refuse(`its value for ${key.column} is not ${key.type}`);
  });
  return values;
}

/** The rows after the cursor's values in the order of `keys`. */
export function afterCursor(keys: readonly OrderKey[], values: readonly unknown[]): RawBuilder<SqlBool> {
  const [first] = keys;
  // One row comparison, which an index on the keys serves as a range: when no key may be null and all
  // go the same way (the default order, created_at and id, is one).
  if (
    first &&
    keys.every((key) => key.notNull && key.direction === first.direction) &&
    values.every((value) => value !== null)
  ) {
    const columns = sql.join(keys.map(keyExpression));
    const operator = sql.raw(first.direction === 'asc' ? '>' : '<');
    return sql<SqlBool>`(${columns}) ${operator} (${sql.join(values.map((value) => sql`${value}`))})`;
  }
  // Otherwise key by key: after on the first, or equal on it and after on the rest. PostgreSQL puts nulls
  // last in ascending order and first in descending order.
  const alternatives = keys.map((key, index) => {
    const equal = keys.slice(0, index).map((earlier, at) => equalTo(earlier, values[at]));
    return sql.join([...equal, after(key, values[index])], sql` and `);
  });
  return sql<SqlBool>`(${sql.join(
    alternatives.map((alternative) => sql`(${alternative})`),
    sql` or `,
  )})`;
}

function after(key: OrderKey, value: unknown): RawBuilder<SqlBool> {
  const column = keyExpression(key);
  if (key.direction === 'asc') {
    if (value === null) return sql<SqlBool>`false`; // nulls come last: nothing sorts after one but nulls
    return key.notNull
      ? sql<SqlBool>`${column} > ${value}`
      : sql<SqlBool>`(${column} > ${value} or ${column} is null)`;
  }
  if (value === null) return sql<SqlBool>`${column} is not null`; // nulls come first, then every value
  return sql<SqlBool>`${column} < ${value}`;
}

function equalTo(key: OrderKey, value: unknown): RawBuilder<SqlBool> {
  return value === null
    ? sql<SqlBool>`${keyExpression(key)} is null`
    : sql<SqlBool>`${keyExpression(key)} = ${value}`;
}

// What the cursor's order is: a cursor of one order means nothing in another.
function signature(keys: readonly OrderKey[]): string {
  return keys
    .map(
      (key) =>
        `${key.prefix === undefined ? key.column : `left(${key.column},${key.prefix})`} ${key.direction}`,
    )
    .join(',');
}

// Whether a cursor's value can be compared with the key's column (never an error from PostgreSQL).
function fits(key: OrderKey, value: unknown): boolean {
  if (value === null) return !key.notNull;
  switch (key.type) {
    case 'string':
      return typeof value === 'string' && !value.includes('\u0000');
    case 'time':
      return typeof value === 'string' && parseTimestamp(value, { lenient: false }) !== undefined;
    case 'integer':
      return Number.isInteger(value) && Math.abs(value as number) < 2 ** 31;
    case 'bigint':
      return (
        typeof value === 'string' &&
        /^-?\d{1,19}$/.test(value) &&
        BigInt(value) < 2n ** 63n &&
        BigInt(value) >= -(2n ** 63n)
      );
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}
