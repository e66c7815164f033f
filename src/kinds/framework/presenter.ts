// Turns a row into the JSON a client sees: kind and href added, timestamps as RFC 3339 UTC with
// milliseconds (the columns hold milliseconds, so POST, GET, list and PATCH show the same text).
import type { Fields } from './fields.ts';
import type { KindDefinition, KindRow, Resource } from './kind.ts';

export type Presenter<F extends Fields> = (row: KindRow) => Resource<F>;

export function kindHref(basePath: string, kind: KindDefinition, id?: string): string {
  const collection = `${basePath}/${kind.plural}`;
  return id === undefined ? collection : `${collection}/${id}`;
}

export function createPresenter<F extends Fields>(basePath: string, kind: KindDefinition<F>): Presenter<F> {
  const fields = Object.entries(kind.fields);
  return (row) => {
    const resource: Record<string, unknown> = {
      id: row.id,
      kind: kind.name,
      href: kindHref(basePath, kind, row.id),
    };
    for (const [name, field] of fields) {
      const value = row[name] ?? null;
      if (value === null) resource[name] = null;
      else if (field.type === 'time') resource[name] = (value as Date).toISOString();
      else if (field.type === 'int64')
        resource[name] = Number(value); // pg returns bigint as text
      else resource[name] = value;
    }
    resource.created_at = row.created_at.toISOString();
    resource.updated_at = row.updated_at.toISOString();
    return resource as Resource<F>;
  };
}
