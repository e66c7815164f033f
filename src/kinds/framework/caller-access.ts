import { sql } from 'kysely';
import { callerMay, currentContext } from '../../context/request-context.ts';
import { ApiError } from '../../errors/catalogue.ts';
import type { KindDefinition } from './kind.ts';
import { relationsOf } from './relations.ts';
import type { Scope } from './scope.ts';

/**
 * 403 code 4 unless the caller may list every Kind a list or watch reaches through a relation (a search,
 * an order or a projection that names `dinosaur.species` reads Dinosaurs). Decided from the names in the
 * query alone, before any row is read, so the answer never depends on what the rows hold.
 */
export function requireRelationAccess(kind: KindDefinition, joins: readonly string[]): void {
  if (joins.length === 0) return;
  for (const { name, target } of relationsOf(kind)) {
    if (joins.includes(name) && !callerMay(target.name, 'list')) {
      throw new ApiError(
        'Forbidden',
        `Account '${currentContext().actor}' may not list ${target.name} (named through '${name}' in the search, orderBy or fields)`,
      );
    }
  }
}

/**
 * A scope for a table of events about other Kinds (the events, a webhook's deliveries): only rows whose
 * `column` names the event source of a Kind the caller may list. No condition when the caller may list
 * them all.
 */
export function listableSources(kinds: readonly KindDefinition[], column: string): Scope {
  return () => {
    const visible = kinds.filter(({ name }) => callerMay(name, 'list'));
    if (visible.length === kinds.length) return undefined;
    if (visible.length === 0) return sql<boolean>`false`;
    return sql<boolean>`${sql.ref(column)} in (${sql.join(visible.map(({ eventSource }) => eventSource))})`;
  };
}
