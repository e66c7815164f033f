// Request bodies of POST and PATCH (docs/api.md#request-bodies, docs/api.md#patch), checked against a
// Kind's fields. Messages are the product's contract, so they are written here rather than taken from a
// schema validator.
import { malformedRequest, validationFailed } from '../../errors/catalogue.ts';
import { parseTimestamp } from '../../values/timestamp.ts';
import { type FieldDefinition, typeNames, writableFields } from './fields.ts';
import type { FieldValues, KindDefinition } from './kind.ts';
import { relationsOf } from './relations.ts';

// Properties a client may send back as it read them; they are ignored, as are the Kind's read-only fields.
const readOnlyProperties = ['kind', 'href', 'created_at', 'updated_at'];

/**
 * The values of a POST body: every field of the Kind, null where an optional one is absent. Throws a
 * 400 ApiError naming what is wrong (code 17 for a body that is not a JSON object, 8 for a field).
 */
export function parseCreateBody(kind: KindDefinition, body: unknown): FieldValues {
  const object = requireObject(body);
  if (object.id !== undefined && object.id !== null && object.id !== '')
    throw validationFailed('id must be empty');
  rejectUnknownFields(kind, object);
  const values: FieldValues = {};
  for (const [name, field] of writableFields(kind.fields)) {
    const value = object[name];
    const absent = value === undefined || value === null || isNoReference(field, value);
    if ((absent || (field.type === 'string' && value === '')) && field.required)
      throw validationFailed(`${name} is required`);
    values[name] = absent ? null : convert(name, field, value);
  }
  return values;
}

/**
 * The changes of a PATCH body (a JSON merge patch): only the fields it names, null to clear an optional
 * one. `pathId` is the id in the URL, the only id the body may carry. Throws as parseCreateBody does.
 */
export function parsePatchBody(kind: KindDefinition, body: unknown, pathId: string): FieldValues {
  const object = requireObject(body);
  if (object.id !== undefined && object.id !== null && object.id !== '' && object.id !== pathId) {
    throw validationFailed('id cannot be changed');
  }
  rejectUnknownFields(kind, object);
  const changes: FieldValues = {};
  for (const [name, field] of writableFields(kind.fields)) {
    if (!Object.hasOwn(object, name)) continue;
    const value = object[name];
    const empty = value === '' && (field.type === 'string' || field.type === 'ref');
    if (value === null) {
      if (field.required) throw validationFailed(`${name} cannot be null`);
      changes[name] = null;
    } else if (field.required && empty) {
      throw validationFailed(`${name} cannot be empty`);
    } else if (isNoReference(field, value)) {
      changes[name] = null;
    } else {
      changes[name] = convert(name, field, value);
    }
  }
  return changes;
}

function requireObject(body: unknown): Record<string, unknown> {
  if (body === undefined) throw malformedRequest('the request body is empty');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw malformedRequest('the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

// An empty reference is no reference: clients whose language has no null (Go's zero value) send "".
function isNoReference(field: FieldDefinition, value: unknown): boolean {
  return field.type === 'ref' && value === '';
}

function rejectUnknownFields(kind: KindDefinition, object: Record<string, unknown>): void {
  const ignored = new Set([...readOnlyProperties, ...relationsOf(kind).map(({ name }) => name)]);
  const unknown = Object.keys(object).filter(
    (key) => key !== 'id' && !ignored.has(key) && !Object.hasOwn(kind.fields, key),
  );
  if (unknown.length === 1) throw validationFailed(`unknown field '${unknown[0]}'`);
  if (unknown.length > 1)
    throw validationFailed(`unknown fields ${unknown.map((key) => `'${key}'`).join(', ')}`);
}

function convert(name: string, field: FieldDefinition, value: unknown): string | number | boolean | Date {
  const wrongType = (): Error => validationFailed(`${name} must be ${typeNames[field.type]}`);
  switch (field.type) {
    case 'string':
    case 'ref':
      if (typeof value !== 'string') throw wrongType();
      // PostgreSQL text cannot hold NUL.
      if (value.includes('\u0000')) throw validationFailed(`${name} cannot contain a NUL character`);
      return value;
    case 'int':
      if (!Number.isInteger(value) || (value as number) < -(2 ** 31) || (value as number) >= 2 ** 31)
        throw wrongType();
      return value as number;
    case 'int64':
      if (!Number.isSafeInteger(value)) throw wrongType();
      return value as number;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType();
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw wrongType();
      return value;
    case 'time': {
      const date = typeof value === 'string' ? parseTimestamp(value, { lenient: false }) : undefined;
      if (!date) throw wrongType();
      return date;
    }
  }
}
