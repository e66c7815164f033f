import { SearchError } from './errors.ts';

// What a list may be searched and ordered by: its table and an allow-list of fields (their JSON
// names) with the column and the type each value must have. Nothing else reaches SQL.
export type SearchFieldType = 'string' | 'integer' | 'bigint' | 'number' | 'boolean' | 'time';

export interface SearchField {
  readonly column: string;
  readonly type: SearchFieldType;
}

export interface Searchable {
  readonly table: string;
  readonly fields: Readonly<Record<string, SearchField>>;
}

export interface ResolvedField extends SearchField {
  readonly name: string;
  readonly qualifiedColumn: string; // `dinosaurs.species`
}

// `species` or `dinosaurs.species`; anything else is refused, naming the problem.
export function resolveField(
  searchable: Searchable,
  parts: readonly string[],
  position?: number,
): ResolvedField {
  const text = parts.join('.');
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== searchable.table)) {
    throw new SearchError(
      `'${text}' is not a field of ${searchable.table}: related resources cannot be searched`,
      position,
    );
  }
  const name = parts.at(-1) ?? '';
  const field = Object.hasOwn(searchable.fields, name) ? searchable.fields[name] : undefined;
  if (!field) throw new SearchError(`unknown field '${text}'`, position);
  return { ...field, name, qualifiedColumn: `${searchable.table}.${field.column}` };
}
