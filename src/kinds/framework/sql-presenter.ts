// The presenter of a list's items written in SQL: PostgreSQL turns each row of a page into the JSON text
// the presenter (presenter.ts) would make of it, byte for byte, so the service neither parses the rows
// nor builds and stringifies their objects. A test holds the two to the same text on every type and
// edge value (test/integration/sql-presenter.test.ts).
import { type RawBuilder, sql } from 'kysely';
import { type FieldType, visibleFields } from './fields.ts';
import type { KindDefinition } from './kind.ts';
import { kindHref } from './presenter.ts';
import { relationsOf } from './relations.ts';

/** The JSON text of each row's resource, keeping only `fields` when given (in the presenter's order). */
export type SqlPresenter = (fields?: readonly string[]) => RawBuilder<string>;

// Types whose JSON PostgreSQL writes as JavaScript does. int64 (shown as a JavaScript number, rounded
// past 2^53) and float (PostgreSQL writes 1e+20 where JavaScript writes 100000000000000000000) are not.
const sameText: ReadonlySet<FieldType> = new Set(['string', 'int', 'bool', 'time', 'ref']);

/** The SQL presenter of a Kind's rows (`table` the alias they are read under), if every field allows one. */
export function createSqlPresenter(basePath: string, kind: KindDefinition): SqlPresenter | undefined {
  const fields = visibleFields(kind.fields);
  if (!fields.every(([, field]) => sameText.has(field.type))) return undefined;
  const column = (name: string) => sql.ref(`${kind.plural}.${name}`);
  const members: [string, RawBuilder<string>][] = [
    ['id', jsonText(column('id'))],
    ['kind', sql.lit(JSON.stringify(kind.name))],
    ['href', jsonText(sql`${sql.lit(`${kindHref(basePath, kind)}/`)} || ${column('id')}`)],
    ...fields.map(([name, field]): [string, RawBuilder<string>] => [
      name,
      valueText(field.type, column(name)),
    ]),
    ...relationsOf(kind).map(({ name, field, target }): [string, RawBuilder<string>] => {
      const id = column(field);
      const link = sql<string>`'{"id":' || ${jsonText(id)} || ${sql.lit(`,"kind":${JSON.stringify(target.name)},"href":`)} || ${jsonText(sql`${sql.lit(`${kindHref(basePath, target)}/`)} || ${id}`)} || '}'`;
      return [name, sql<string>`case when ${id} is null then 'null' else ${link} end`];
    }),
    ['created_at', timeText(column('created_at'))],
    ['updated_at', timeText(column('updated_at'))],
  ];
  return (only) => {
    const kept = only ? members.filter(([name]) => only.includes(name)) : members;
    const pairs = kept.map(([name, value], index) => {
      const key = `${index === 0 ? '{' : ','}${JSON.stringify(name)}:`;
      return sql`${sql.lit(key)} || ${value}`;
    });
    return pairs.length === 0 ? sql<string>`'{}'` : sql<string>`(${sql.join(pairs, sql` || `)} || '}')`;
  };
}

function valueText(type: FieldType, value: RawBuilder<unknown>): RawBuilder<string> {
  if (type === 'time') return timeText(value);
  if (type === 'int' || type === 'bool') return sql<string>`coalesce(${value}::text, 'null')`;
  return jsonText(value);
}

// A string as JSON: PostgreSQL escapes as JSON.stringify does (\", \\, \b \f \n \r \t, \u00xx).
function jsonText(value: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`coalesce(to_json(${value})::text, 'null')`;
}

// An instant as a JSON string.
function timeText(value: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`coalesce('"' || ${isoText(value)} || '"', 'null')`;
}

/**
 * An instant's text as Date.toISOString writes it (null for null): UTC, milliseconds, `Z`, the year as
 * four digits from 0 to 9999 and as six with a sign beyond. JavaScript's year 0 is PostgreSQL's 1 BC.
 */
export function isoText(value: RawBuilder<unknown>): RawBuilder<string> {
  const utc = sql`(${value} at time zone 'UTC')`;
  const year = sql`(case when extract(year from ${utc}) < 0 then extract(year from ${utc}) + 1 else extract(year from ${utc}) end)::int`;
  return sql<string>`case when ${value} >= '0001-01-01T00:00:00Z' and ${value} < '10000-01-01T00:00:00Z'
    then to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    else case when ${year} between 0 and 9999 then lpad(${year}::text, 4, '0')
      else (case when ${year} < 0 then '-' else '+' end) || lpad(abs(${year})::text, 6, '0') end
      || to_char(${utc}, '-MM-DD"T"HH24:MI:SS.MS"Z"') end`;
}
