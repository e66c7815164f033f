import { type TSchema, Type } from 'typebox';
import { type FieldDefinition, type FieldType, isWriteOnly, visibleFields } from './fields.ts';
import type { KindDefinition } from './kind.ts';
import { relationsOf } from './relations.ts';

// A Kind's JSON schemas, derived from its fields. They document the API (OpenAPI) and drive response
// serialisation; request bodies are checked by body.ts, whose messages are part of the contract.
export interface KindSchemas {
  readonly resource: TSchema;
  readonly list: TSchema;
  readonly createRequest: TSchema;
  readonly patchRequest: TSchema;
}

const jsonTypes: Readonly<Record<FieldType, () => TSchema>> = {
  string: () => Type.String(),
  int: () => Type.Integer({ format: 'int32' }),
  int64: () => Type.Integer({ format: 'int64' }),
  float: () => Type.Number({ format: 'double' }),
  bool: () => Type.Boolean(),
  time: () => Type.String({ format: 'date-time' }),
  ref: () => Type.String(),
};

function fieldSchema(field: FieldDefinition, nullable: boolean): TSchema {
  const base = jsonTypes[field.type]();
  const schema = nullable ? Type.Union([base, Type.Null()]) : base;
  const description =
    field.type === 'ref'
      ? `${field.description ? `${field.description}. ` : ''}The id of a ${field.target().name}`
      : field.description;
  return {
    ...schema,
    ...(description ? { description } : {}),
    ...(isWriteOnly(field) ? { writeOnly: true } : {}),
  };
}

// The relation `dinosaur` of `dinosaur_id`, as a resource shows it: where the referenced row is.
// A list's `fields=dinosaur.species` adds the chosen fields of that row to this object.
function referenceSchema(target: KindDefinition): TSchema {
  return Type.Union(
    [
      Type.Object({
        id: Type.String(),
        kind: Type.String({ description: `Always "${target.name}"` }),
        href: Type.String(),
      }),
      Type.Null(),
    ],
    { readOnly: true, description: `The referenced ${target.name}` },
  );
}

export function kindSchemas(kind: KindDefinition): KindSchemas {
  const fields = Object.entries(kind.fields);
  const resource = Type.Object(
    {
      id: Type.String({ description: 'KSUID, assigned by the server', readOnly: true }),
      kind: Type.String({ description: `Always "${kind.name}"`, readOnly: true }),
      href: Type.String({ readOnly: true }),
      ...Object.fromEntries(
        visibleFields(kind.fields).map(([name, field]) => [name, fieldSchema(field, !field.required)]),
      ),
      ...Object.fromEntries(relationsOf(kind).map(({ name, target }) => [name, referenceSchema(target)])),
      created_at: Type.String({ format: 'date-time', readOnly: true }),
      updated_at: Type.String({ format: 'date-time', readOnly: true }),
    },
    { $id: kind.name },
  );
  const createRequest = Type.Object(
    Object.fromEntries(
      fields.map(([name, field]) => [
        name,
        field.required ? fieldSchema(field, false) : Type.Optional(fieldSchema(field, true)),
      ]),
    ),
    { $id: `${kind.name}CreateRequest` },
  );
  const patchRequest = Type.Object(
    Object.fromEntries(
      fields.map(([name, field]) => [name, Type.Optional(fieldSchema(field, !field.required))]),
    ),
    { $id: `${kind.name}PatchRequest` },
  );
  const list = Type.Object(
    {
      kind: Type.String(),
      page: Type.Integer(),
      size: Type.Integer(),
      total: Type.Integer(),
      items: Type.Array(Type.Ref(kind.name)),
    },
    { $id: `${kind.name}List` },
  );
  return { resource, list, createRequest, patchRequest };
}
