import { SearchError } from './errors.ts';

// What a list may be searched and ordered by: its table and an allow-list of fields (their JSON
// names) with the column and the type each value must have, and the relations it may reach through
// with their own allow-lists. Nothing else reaches SQL.
export type SearchFieldType = 'string' | 'integer' | 'bigint' | 'number' | 'boolean' | 'time';

export interface SearchField {
  readonly column: string;
  readonly type: SearchFieldType;
  // The column never holds null (an id, a timestamp, a required field of the list's own table): a cursor
  // past a row compares it directly (kinds/framework/cursor.ts).
  readonly notNull?: boolean;
  // A btree index over the column's first `prefixIndex` characters (text_pattern_ops) serves a like
  // pattern's literal prefix: the compiler adds that condition, which the index turns into a range.
  readonly prefixIndex?: number;
}

// A many-to-one relation: the list's rows join at most one row of `table`, aliased by the relation's
// name, so `dinosaur.species` is the column `dinosaur.species` of the joined row.
export interface SearchRelation {
  readonly table: string;
  readonly fields: Readonly<Record<string, SearchField>>;
}

export interface Searchable {
  readonly table: string;
  readonly fields: Readonly<Record<string, SearchField>>;
  readonly relations?: Readonly<Record<string, SearchRelation>>;
}

export interface ResolvedField extends SearchField {
  readonly name: string; // `species`, or `dinosaur.species` through a relation
  readonly qualifiedColumn: string; // `dinosaurs.species`, or `dinosaur.species`
  readonly relation?: string; // the relation the field is reached through, which the query must join
}

// `species`, `dinosaurs.species` or, through a relation, `dinosaur.species`; anything else is refused,
// naming the problem.
export function resolveField(
  searchable: Searchable,
  parts: readonly string[],
  position?: number,
): ResolvedField {
  const text = parts.join('.');
  const [prefix = '', name = ''] = parts;
  const relation =
    parts.length === 2 && searchable.relations && Object.hasOwn(searchable.relations, prefix)
      ? searchable.relations[prefix]
      : undefined;
  if (relation) {
    const field = lookUp(relation.fields, name);
    if (!field)
      throw new SearchError(`unknown field '${text}': '${prefix}' has no field '${name}'`, position);
    return { ...field, name: text, qualifiedColumn: `${prefix}.${field.column}`, relation: prefix };
  }
  if (parts.length > 2 || (parts.length === 2 && prefix !== searchable.table)) {
    const known = Object.keys(searchable.relations ?? {});
    const hint = known.length > 0 ? `its relations are ${known.join(', ')}` : 'it has no relations';
    throw new SearchError(`'${text}' is not a field of ${searchable.table}: ${hint}`, position);
  }
  const own = parts.at(-1) ?? '';
  const field = lookUp(searchable.fields, own);
  if (!field) throw new SearchError(`unknown field '${text}'`, position);
  return { ...field, name: own, qualifiedColumn: `${searchable.table}.${field.column}` };
}

function lookUp(fields: Readonly<Record<string, SearchField>>, name: string): SearchField | undefined {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}
