import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { ReferenceField } from './fields.ts';
import type { KindDefinition } from './kind.ts';

/**
 * A Kind's reference fields seen as relations: `dinosaur_id` (a ref to Dinosaur) is the relation
 * `dinosaur`, which search (`dinosaur.species = 'x'`), ordering and embedding
 * (`fields=dinosaur.species`) reach through, joined on the target's id.
 */
export interface Relation {
  /** `dinosaur`: also the SQL alias of the joined table. */
  readonly name: string;
  /** `dinosaur_id`: the column holding the target's id. */
  readonly field: string;
  /** The referenced Kind. */
  readonly target: KindDefinition;
}

/** A Kind and field that reference rows of another Kind, as the delete rule sees them. */
export interface Referrer {
  /** The referencing Kind. */
  readonly kind: KindDefinition;
  /** Its reference field (`dinosaur_id`). */
  readonly field: string;
  /** What deleting a referenced row does. */
  readonly rule: ReferenceField['onDelete'];
}

/**
 * A field of a referenced resource a list returns inside the relation's object
 * (`fields=dinosaur.species`).
 */
export interface EmbeddedField {
  /** The relation's name (`dinosaur`). */
  readonly relation: string;
  /** A field of the referenced Kind (`species`), or one of its id and timestamps. */
  readonly field: string;
}

/** What every reference field's name ends in. */
export const referenceSuffix = '_id';

/** The relation a reference field makes: its name without the suffix (`dinosaur_id` → `dinosaur`). */
export function relationName(field: string): string {
  return field.slice(0, -referenceSuffix.length);
}

/**
 * A Kind's reference fields as relations. It calls each field's `target()`, so call it only once every
 * Kind is defined.
 */
export function relationsOf(kind: KindDefinition): Relation[] {
  return Object.entries(kind.fields).flatMap(([field, definition]) =>
    definition.type === 'ref' ? [{ name: relationName(field), field, target: definition.target() }] : [],
  );
}

/** Every field of `kinds` that references `target`. */
export function referrersOf(target: KindDefinition, kinds: readonly KindDefinition[]): Referrer[] {
  return kinds.flatMap((kind) =>
    Object.entries(kind.fields).flatMap(([field, definition]) =>
      definition.type === 'ref' && definition.target().name === target.name
        ? [{ kind, field, rule: definition.onDelete }]
        : [],
    ),
  );
}

/**
 * `left join <target> as <relation> on ...` for each named relation of `kind`, whose own table is
 * known in the query as `alias`. A left join: a row whose reference is null (or, for a row read from
 * an event, no longer live) stays in the list with the relation's columns null. Many-to-one, so the
 * join never repeats a row.
 */
export function relationJoins(
  kind: KindDefinition,
  names: Iterable<string>,
  alias: string = kind.plural,
  scope?: JoinScope,
): RawBuilder<unknown> {
  const wanted = new Set(names);
  const joins = relationsOf(kind)
    .filter(({ name }) => wanted.has(name))
    .map(({ name, field, target }) => {
      const scoped = scope?.(target, name);
      return sql`left join ${sql.table(target.plural)} as ${sql.id(name)} on ${sql.ref(`${name}.id`)} = ${sql.ref(`${alias}.${field}`)} and ${sql.ref(`${name}.deleted_at`)} is null${scoped ? sql` and ${scoped}` : sql``}`;
    });
  return sql.join(joins, sql` `);
}

/** A condition on a joined relation's rows (`alias` names them in the statement), if any. */
export type JoinScope = (target: KindDefinition, alias: string) => RawBuilder<SqlBool> | undefined;
