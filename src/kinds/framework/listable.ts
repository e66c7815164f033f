import type { Listable } from '../../http/list-params.ts';
import type { SearchField, SearchFieldType } from '../../search/searchable.ts';
import type { FieldType } from './fields.ts';
import type { KindDefinition } from './kind.ts';

const searchTypes: Readonly<Record<FieldType, SearchFieldType>> = {
  string: 'string',
  int: 'integer',
  int64: 'bigint',
  float: 'number',
  bool: 'boolean',
  time: 'time',
};

// A Kind's list may be searched and ordered by its id, its timestamps and its own fields, and
// projected onto any property of its resources.
export function kindListable(kind: KindDefinition): Listable {
  const fields: Record<string, SearchField> = {
    id: { column: 'id', type: 'string' },
    created_at: { column: 'created_at', type: 'time' },
    updated_at: { column: 'updated_at', type: 'time' },
  };
  for (const [name, field] of Object.entries(kind.fields))
    fields[name] = { column: name, type: searchTypes[field.type] };
  return {
    searchable: { table: kind.plural, fields },
    properties: ['id', 'kind', 'href', ...Object.keys(kind.fields), 'created_at', 'updated_at'],
  };
}
