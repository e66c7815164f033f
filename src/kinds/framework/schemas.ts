import { type TSchema, Type } from 'typebox';
import { exampleId, exampleTimestamp } from '../../http/openapi-examples.ts';
import {
  type FieldDefinition,
  type FieldType,
  isReadOnly,
  isWriteOnly,
  visibleFields,
  writableFields,
} from './fields.ts';
import type { KindDefinition } from './kind.ts';
import { relationsOf } from './relations.ts';

/**
 * A Kind's JSON schemas, derived from its fields. They document the API (OpenAPI) and drive response
 * serialisation; request bodies are checked by body.ts, whose messages are part of the contract.
 */
export interface KindSchemas {
  /** A resource; its `$id` is the Kind's name. */
  readonly resource: TSchema;
  /** A page of the list; `$id` `<Kind>List`. */
  readonly list: TSchema;
  /** A POST body; `$id` `<Kind>CreateRequest`, closed to properties the Kind does not have. */
  readonly createRequest: TSchema;
  /** A PATCH body; `$id` `<Kind>PatchRequest`, closed like the create's. */
  readonly patchRequest: TSchema;
}

// What body.ts takes of each type, as JSON Schema: text without NUL (PostgreSQL text cannot hold it),
// integers in PostgreSQL's integer, or those a JSON number carries exactly, RFC 3339 instants that RFC
// 3339 can write back in UTC. A test holds body.ts and these schemas to each other.
const jsonTypes: Readonly<Record<FieldType, () => TSchema>> = {
  string: () => Type.String({ pattern: '^[^\\u0000]*$' }),
  int: () => Type.Integer({ format: 'int32', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 }),
  int64: () =>
    Type.Integer({ format: 'int64', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
  float: () => Type.Number({ format: 'double' }),
  bool: () => Type.Boolean(),
  time: () => Type.String({ format: 'date-time' }),
  ref: () => Type.String(),
};
const timeRange = 'an instant from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z';

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

function fieldSchema(field: FieldDefinition, nullable: boolean, base: string): TSchema {
  const documented = field.type === 'ref' ? undefined : field.documented;
  // A required text is never empty (body.ts: "is required", "cannot be empty").
  const type: TSchema = {
    ...jsonTypes[field.type](),
    ...(field.required && (field.type === 'string' || field.type === 'ref') ? { minLength: 1 } : {}),
    ...(documented?.format ? { format: documented.format } : {}),
    ...(documented?.pattern ? { pattern: documented.pattern } : {}),
  };
  const schema = nullable ? Type.Union([type, Type.Null()]) : type;
  const notes = [field.description];
  if (field.type === 'ref') {
    const target = field.target();
    notes.push(`The id of a ${target.name}${field.required ? '' : '; null or "" for none'}`);
    return {
      ...schema,
      description: notes.filter(Boolean).join('. '),
      // Where the ids it takes are: a client (or a test) finds or makes a resource there.
      'x-trex-reference': { kind: target.name, collection: `${base}/${target.plural}` },
    };
  }
  if (field.type === 'time') notes.push(`RFC 3339, ${timeRange}`);
  const description = notes.filter(Boolean).join('. ');
  return {
    ...schema,
    ...(description ? { description } : {}),
    ...(isWriteOnly(field) ? { writeOnly: true } : {}),
    ...(isReadOnly(field) ? { readOnly: true } : {}),
    ...(documented?.rules ? { 'x-trex-rules': documented.rules } : {}),
    ...(documented?.examples ? { examples: documented.examples } : {}),
  };
}

// What a client reading a resource may send back in a create or a patch: read-only properties,
// ignored (body.ts), and the id, which must be empty there (or, in a patch, the resource's own).
function sentBack(kind: KindDefinition, id: string): Record<string, TSchema> {
  const ignored = (what: string): TSchema =>
    Type.Optional(
      Type.Unknown({ readOnly: true, description: `${what}: read-only, ignored when sent back` }),
    );
  return {
    id: Type.Optional(Type.Unsafe({ enum: ['', null], readOnly: true, description: id })),
    kind: ignored('The Kind'),
    href: ignored('The path of the resource'),
    ...Object.fromEntries(
      relationsOf(kind).map(({ name, target }) => [name, ignored(`The referenced ${target.name}`)]),
    ),
    ...Object.fromEntries(
      Object.entries(kind.fields)
        .filter(([, field]) => isReadOnly(field))
        .map(([name, field]) => [name, ignored(field.description || `The ${name}`)]),
    ),
    created_at: ignored('The creation time'),
    updated_at: ignored('The time of the last change'),
  };
}

// The relation `dinosaur` of `dinosaur_id`, as a resource shows it: where the referenced row is; null
// when the reference is optional and unset. A list's `fields=dinosaur.species` adds the chosen fields of
// that row to this object.
function referenceSchema(target: KindDefinition, required: boolean): TSchema {
  const link = Type.Object({
    id: Type.String(),
    kind: Type.String({ description: `Always "${target.name}"` }),
    href: Type.String(),
  });
  const options = { readOnly: true, description: `The referenced ${target.name}` };
  return required ? Type.Object(link.properties, options) : Type.Union([link, Type.Null()], options);
}

/** A Kind's schemas, with examples; a reference names its target's collection under `base` (apiBase). */
export function kindSchemas(kind: KindDefinition, base: string): KindSchemas {
  const fields = writableFields(kind.fields);
  const relations = relationsOf(kind);
  const exampleValueOf = Object.fromEntries(
    Object.entries(kind.fields).map(([name, field]) => [
      name,
      field.type !== 'ref' && field.documented?.examples?.length
        ? field.documented.examples[0]
        : exampleValues[field.type](kind.name, name),
    ]),
  );
  // What a request body may set: read-only fields are the service's own.
  const exampleFields = Object.fromEntries(fields.map(([name]) => [name, exampleValueOf[name]]));
  const exampleResource = {
    id: exampleId,
    kind: kind.name,
    href: `${base}/${kind.plural}/${exampleId}`,
    // Write-only fields (secrets) are taken, never shown.
    ...Object.fromEntries(visibleFields(kind.fields).map(([name]) => [name, exampleValueOf[name]])),
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
        visibleFields(kind.fields).map(([name, field]) => [name, fieldSchema(field, !field.required, base)]),
      ),
      ...Object.fromEntries(
        relations.map(({ name, field, target }) => [
          name,
          referenceSchema(target, kind.fields[field]?.required === true),
        ]),
      ),
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
  // Closed: body.ts refuses a property the Kind does not have (400 code 8).
  const createRequest = Type.Object(
    {
      ...Object.fromEntries(
        fields.map(([name, field]) => [
          name,
          field.required ? fieldSchema(field, false, base) : Type.Optional(fieldSchema(field, true, base)),
        ]),
      ),
      ...sentBack(kind, 'Assigned by the server: sent back, it must be empty or null'),
    },
    { $id: `${kind.name}CreateRequest`, additionalProperties: false, examples: [exampleFields] },
  );
  const patchRequest = Type.Object(
    {
      ...Object.fromEntries(
        fields.map(([name, field]) => [name, Type.Optional(fieldSchema(field, !field.required, base))]),
      ),
      ...sentBack(kind, "Sent back, it must be empty, null or this resource's own id (else 400)"),
    },
    { $id: `${kind.name}PatchRequest`, additionalProperties: false, examples: [exampleFields] },
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
