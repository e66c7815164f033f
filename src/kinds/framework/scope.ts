import { type RawBuilder, type SqlBool, sql } from 'kysely';

/** A condition on the Kind's table that every read adds, or undefined when the caller may see every row. */
export type Scope = () => RawBuilder<SqlBool> | undefined;

/** Every condition given, joined by `and`; undefined when none is. */
export function allOf(
  conditions: readonly (RawBuilder<SqlBool> | undefined)[],
): RawBuilder<SqlBool> | undefined {
  const present = conditions.filter((condition) => condition !== undefined);
  if (present.length < 2) return present[0];
  return sql<SqlBool>`${sql.join(present, sql` and `)}`;
}
