import type { SearchField, SearchFieldType, SearchRelation } from '../../search/searchable.ts';
import { type FieldType, prefixIndexLength, visibleFields } from './fields.ts';
import { commonProperties, type KindDefinition } from './kind.ts';
import type { Listable } from './list-params.ts';
import { relationsOf } from './relations.ts';

const searchTypes: Readonly<Record<FieldType, SearchFieldType>> = {
  string: 'string',
  int: 'integer',
  int64: 'bigint',
  float: 'number',
  bool: 'boolean',
  time: 'time',
  ref: 'string',
};

/**
 * A Kind's list may be searched and ordered by its id, its timestamps and its own visible fields, and by
 * those of the Kinds it references (`dinosaur.species`); and projected onto any property of its resources,
 * or embed chosen fields of a referenced resource (`fields=dinosaur.species`).
 */
export function kindListable(kind: KindDefinition): Listable {
  const relations: Record<string, SearchRelation> = {};
  const embeddable: string[] = [];
  for (const { name, target } of relationsOf(kind)) {
    // A relation's row may be missing (an optional reference, another tenant's row): its fields may be null.
    const fields = Object.fromEntries(
      Object.entries(searchFields(target)).map(([field, { notNull: _, ...searchField }]) => [
        field,
        searchField,
      ]),
    );
    relations[name] = { table: target.plural, fields };
    embeddable.push(...Object.keys(fields).map((field) => `${name}.${field}`));
  }
  return {
    searchable: { table: kind.plural, fields: searchFields(kind), relations },
    properties: [
      ...commonProperties,
      ...visibleFields(kind.fields).map(([name]) => name),
      ...Object.keys(relations),
      ...embeddable,
    ],
  };
}

function searchFields(kind: KindDefinition): Record<string, SearchField> {
  const fields: Record<string, SearchField> = {
    id: { column: 'id', type: 'string', notNull: true },
    created_at: { column: 'created_at', type: 'time', notNull: true },
    updated_at: { column: 'updated_at', type: 'time', notNull: true },
  };
  // Write-only fields are never searched, ordered by or projected.
  for (const [name, field] of visibleFields(kind.fields))
    fields[name] = {
      column: name,
      type: searchTypes[field.type],
      notNull: field.required,
      ...(field.type === 'string' && field.indexed ? { prefixIndex: prefixIndexLength } : {}),
    };
  return fields;
}
