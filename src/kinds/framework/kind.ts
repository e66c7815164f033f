import type { Fields, FieldValue, RowValue, WriteValue } from './fields.ts';
import { referenceSuffix, relationName } from './relations.ts';

/**
 * A Kind: the name clients see, its collection path and table, and its fields. `N` keeps the name's
 * literal type, so a type can find the Kind's schema in the typed client by it.
 */
export interface KindDefinition<F extends Fields = Fields, N extends string = string> {
  /** "Dinosaur": the `kind` of a resource. */
  readonly name: N;
  /** "dinosaurs": the collection path segment and the table name. */
  readonly plural: string;
  /** "Dinosaurs": the `source` of its events. */
  readonly eventSource: string;
  /** The fields, by JSON name; their types type the Kind's rows, values and resources. */
  readonly fields: F;
  /**
   * Whether each row belongs to a tenant (its `tenant_id` column): with `--tenant-claim` set, every
   * caller reads and writes only its own tenant's rows (docs/auth.md#tenants).
   */
  readonly tenantScoped: boolean;
}

/** Properties every resource has besides its fields. */
export const commonProperties = ['id', 'kind', 'href', 'created_at', 'updated_at'] as const;

/**
 * Declares a Kind. Its fields are the one source of its schemas, validation, presentation, search
 * allow-list and migration; keep the result's type (`typeof myKind.fields`) to type its service.
 */
export function defineKind<F extends Fields, const N extends string>(definition: {
  name: N;
  plural: string;
  fields: F;
  tenantScoped?: boolean;
}): KindDefinition<F, N> {
  checkReferenceNames(definition);
  // The service's own column: a field of that name would let a client read or move a row's tenant.
  if (Object.hasOwn(definition.fields, 'tenant_id')) {
    throw new Error(
      `${definition.name}.tenant_id: the name is the service's own (a row's tenant), not a field's`,
    );
  }
  const eventSource = definition.plural.replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) =>
    letter.toUpperCase(),
  );
  return Object.freeze({ ...definition, eventSource, tenantScoped: definition.tenantScoped ?? false });
}

// A relation is named after its field (`dinosaur_id` → `dinosaur`), and that name must be free: it
// becomes a property of the resource and a prefix in search, where it must not shadow a field, a
// common property or the Kind's own table name.
function checkReferenceNames(definition: { name: string; plural: string; fields: Fields }): void {
  for (const [field, { type }] of Object.entries(definition.fields)) {
    if (type !== 'ref') continue;
    const relation = relationName(field);
    const taken =
      Object.hasOwn(definition.fields, relation) ||
      (commonProperties as readonly string[]).includes(relation) ||
      relation === definition.plural;
    if (!field.endsWith(referenceSuffix) || relation === '' || taken) {
      throw new Error(
        `${definition.name}.${field}: a reference field is named <relation>${referenceSuffix}, and <relation> must not be a field, a common property or '${definition.plural}'`,
      );
    }
  }
}

/**
 * The JSON representation of one resource of a Kind, as clients see it: its visible fields, and for
 * each reference field (`dinosaur_id`) a link to the resource it references (`dinosaur`).
 */
export type Resource<F extends Fields> = Flat<
  {
    /** KSUID, assigned by the server. */
    id: string;
    /** The Kind's name, e.g. "Dinosaur". */
    kind: string;
    /** The path of this resource. */
    href: string;
    /** RFC 3339, UTC, milliseconds. */
    created_at: string;
    /** RFC 3339, UTC, milliseconds. */
    updated_at: string;
  } & { -readonly [K in keyof F as F[K] extends { writeOnly: true } ? never : K]: FieldValue<F[K]> } & {
    -readonly [K in keyof F as F[K] extends { type: 'ref' }
      ? RelationOf<K>
      : never]: F[K]['required'] extends true ? ResourceLink : ResourceLink | null;
  }
>;

// One object type rather than an intersection of three: what an editor shows, and what type tests compare.
type Flat<T> = { [K in keyof T]: T[K] };

/** How a resource shows another it references. */
export interface ResourceLink {
  /** The referenced resource's id. */
  id: string;
  /** The referenced resource's Kind, e.g. "Dinosaur". */
  kind: string;
  /** The referenced resource's path. */
  href: string;
}

type RelationOf<K> = K extends `${infer Relation}_id` ? Relation : never;

/**
 * A row of a Kind's table as the DAO reads it: each field as pg returns it (`time` a `Date`, `int64` a
 * decimal string, so no digit is lost). Without `F`, a row of any Kind.
 */
export type KindRow<F extends Fields = Fields> = {
  /** KSUID, assigned by the service. */
  id: string;
  /** When the row was created (milliseconds). */
  created_at: Date;
  /** When the row last changed (milliseconds). */
  updated_at: Date;
  /** When the row was soft-deleted; null while it is live. */
  deleted_at: Date | null;
} & { -readonly [K in keyof F]: RowValue<F[K]> };

/**
 * Field values a write sets, as the request body parser makes them (`time` a `Date`, numbers as
 * numbers): a create's values or a patch's changes. Without `F`, the values of any Kind.
 */
export type FieldValues<F extends Fields = Fields> = {
  -readonly [K in keyof F]?: WriteValue<F[K]>;
};

/** The values a rule checks: the row as it will be after the write, where a field may hold either form. */
export type CheckedValues<F extends Fields = Fields> = {
  readonly [K in keyof F]?: WriteValue<F[K]> | RowValue<F[K]>;
};
