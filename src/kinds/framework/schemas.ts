import { type TSchema, Type } from 'typebox';
import { exampleId, exampleTimestamp } from '../../http/openapi-examples.ts';
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

// Example values for the OpenAPI document, by field type.
const exampleValues: Readonly<Record<FieldType, (kind: string, field: string) => unknown>> = {
  string: (kind, field) => `${kind} ${field}`,
  int: () => 42,
  int64: () => 1_234_567_890_123,
  float: () => 3.5,
  bool: () => true,
  time: () => exampleTimestamp,
  ref: () => exampleId,
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

export function kindSchemas(kind: KindDefinition, base: string): KindSchemas {
  const fields = Object.entries(kind.fields);
  const relations = relationsOf(kind);
  const exampleFields = Object.fromEntries(
    fields.map(([name, field]) => [name, exampleValues[field.type](kind.name, name)]),
  );
  const exampleResource = {
    id: exampleId,
    kind: kind.name,
    href: `${base}/${kind.plural}/${exampleId}`,
    // Write-only fields (secrets) are taken, never shown.
    ...Object.fromEntries(visibleFields(kind.fields).map(([name]) => [name, exampleFields[name]])),
    ...Object.fromEntries(
      relations.map(({ name, target }) => [
        name,
        { id: exampleId, kind: target.name, href: `${base}/${target.plural}/${exampleId}` },
      ]),
    ),
    created_at: exampleTimestamp,
    updated_at: exampleTimestamp,
  };
  const resource = Type.Object(
    {
      id: Type.String({ description: 'KSUID, assigned by the server', readOnly: true }),
      kind: Type.String({ description: `Always "${kind.name}"`, readOnly: true }),
      href: Type.String({ description: 'The path of this resource', readOnly: true }),
      ...Object.fromEntries(
        visibleFields(kind.fields).map(([name, field]) => [name, fieldSchema(field, !field.required)]),
      ),
      ...Object.fromEntries(relations.map(({ name, target }) => [name, referenceSchema(target)])),
      created_at: Type.String({
        format: 'date-time',
        description: 'RFC 3339, UTC, milliseconds',
        readOnly: true,
      }),
      updated_at: Type.String({
        format: 'date-time',
        description: 'RFC 3339, UTC, milliseconds',
        readOnly: true,
      }),
    },
    { $id: kind.name, examples: [exampleResource] },
  );
  const createRequest = Type.Object(
    Object.fromEntries(
      fields.map(([name, field]) => [
        name,
        field.required ? fieldSchema(field, false) : Type.Optional(fieldSchema(field, true)),
      ]),
    ),
    { $id: `${kind.name}CreateRequest`, examples: [exampleFields] },
  );
  const patchRequest = Type.Object(
    Object.fromEntries(
      fields.map(([name, field]) => [name, Type.Optional(fieldSchema(field, !field.required))]),
    ),
    { $id: `${kind.name}PatchRequest`, examples: [exampleFields] },
  );
  const list = Type.Object(
    {
      kind: Type.String({ description: `Always "${kind.name}List"` }),
      page: Type.Integer({ description: 'The page number, from 1' }),
      size: Type.Integer({ description: 'The number of items on this page' }),
      total: Type.Integer({ description: 'The number of items matching the search, over all pages' }),
      items: Type.Array(Type.Ref(kind.name)),
    },
    {
      $id: `${kind.name}List`,
      examples: [{ kind: `${kind.name}List`, page: 1, size: 1, total: 1, items: [exampleResource] }],
    },
  );
  return { resource, list, createRequest, patchRequest };
}
