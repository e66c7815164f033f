// Turns a row into the JSON a client sees: kind and href added, timestamps as RFC 3339 UTC with
// milliseconds (the columns hold milliseconds, so POST, GET, list and PATCH show the same text).
import { type Fields, type FieldType, visibleFields } from './fields.ts';
import type { KindDefinition, KindRow, Resource } from './kind.ts';
import { type EmbeddedField, relationsOf } from './relations.ts';

/** Turns a row of a Kind's table into the resource a client sees. */
export type Presenter<F extends Fields> = (row: KindRow) => Resource<F>;

/** The path of a Kind's collection under `basePath` (apiBase), or with `id` the path of one resource. */
export function kindHref(basePath: string, kind: KindDefinition, id?: string): string {
  const collection = `${basePath}/${kind.plural}`;
  return id === undefined ? collection : `${collection}/${id}`;
}

/**
 * The presenter of a Kind's rows, hrefs under `basePath` (apiBase): write-only fields left out, each
 * reference shown as a link to its resource (null when there is none).
 */
export function createPresenter<F extends Fields>(basePath: string, kind: KindDefinition<F>): Presenter<F> {
  const fields = visibleFields(kind.fields);
  // Each item's href is its collection's and its id: the collections' paths are worked out once.
  const itemsPath = `${kindHref(basePath, kind)}/`;
  const relations = relationsOf(kind).map((relation) => ({
    ...relation,
    itemsPath: `${kindHref(basePath, relation.target)}/`,
  }));
  return (row) => {
    const resource: Record<string, unknown> = { id: row.id, kind: kind.name, href: itemsPath + row.id };
    for (const [name, field] of fields) resource[name] = presentValue(field.type, row[name]);
    for (const { name, field, target, itemsPath: targetPath } of relations) {
      const id = row[field];
      resource[name] = typeof id === 'string' ? { id, kind: target.name, href: targetPath + id } : null;
    }
    resource.created_at = row.created_at.toISOString();
    resource.updated_at = row.updated_at.toISOString();
    return resource as Resource<F>;
  };
}

/**
 * A column's value as JSON: times as RFC 3339 UTC text, bigints (which pg returns as text) as numbers;
 * null (or undefined) as null.
 */
export function presentValue(type: FieldType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'time') return (value as Date).toISOString();
  if (type === 'int64') return Number(value);
  return value;
}

/**
 * Adds the embedded fields of referenced resources (`fields=dinosaur.species`), read by the list's
 * joins as `dinosaur.species` columns, to each relation's object of a presented resource.
 */
export function embedRelated(
  kind: KindDefinition,
  embed: readonly EmbeddedField[],
): (resource: Record<string, unknown>, row: KindRow) => void {
  const targets = new Map(relationsOf(kind).map(({ name, target }) => [name, target]));
  const typeOf = (relation: string, field: string): FieldType => {
    const definition = targets.get(relation)?.fields[field];
    if (definition) return definition.type;
    return field === 'created_at' || field === 'updated_at' ? 'time' : 'string';
  };
  return (resource, row) => {
    for (const { relation, field } of embed) {
      const object = resource[relation];
      if (object === null || typeof object !== 'object') continue; // no reference: nothing to embed
      (object as Record<string, unknown>)[field] = presentValue(
        typeOf(relation, field),
        row[`${relation}.${field}`],
      );
    }
  };
}
