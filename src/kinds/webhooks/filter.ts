import { validationFailed } from '../../errors/catalogue.ts';
import type { EventType } from '../../events/event-store.ts';
import type { CompiledSearch } from '../../search/compiler.ts';
import type { KindDefinition } from '../framework/kind.ts';
import { compileSearchParameter } from '../framework/list-params.ts';
import { kindListable } from '../framework/listable.ts';
import { relationsOf } from '../framework/relations.ts';

export const eventTypes: readonly EventType[] = ['Create', 'Update', 'Delete'];

// What a webhook receives: events of these sources and types (undefined: all) whose resource matches
// the search (undefined: every resource).
export interface WebhookFilter {
  readonly sources: readonly string[] | undefined;
  readonly eventTypes: readonly string[] | undefined;
  readonly search: string | undefined;
}

export function filterOf(row: Record<string, unknown>): WebhookFilter {
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value.trim() !== '' ? value : undefined;
  return {
    sources: commaList(text(row.sources)),
    eventTypes: commaList(text(row.event_types)),
    search: text(row.search),
  };
}

export function commaList(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(',').map((item) => item.trim());
}

// Whether an event of `source` and `eventType` passes the filter's lists (the search is applied apart,
// to the resource, in SQL).
export function listsAdmit(filter: WebhookFilter, source: string, eventType: string): boolean {
  return (
    (filter.sources === undefined || filter.sources.includes(source)) &&
    (filter.eventTypes === undefined || filter.eventTypes.includes(eventType))
  );
}

// Checks a filter as a webhook is created or changed: known sources and event types (400 code 8 naming
// the field), and a search that parses and means something for at least one source it covers (400 code
// 21, as in a list's search). Events of a source the search means nothing to (a field it lacks) never
// match, so `species like 'T%'` over every source receives matching dinosaurs only.
export function checkFilter(filter: WebhookFilter, kinds: readonly KindDefinition[]): void {
  const known = kinds.map((kind) => kind.eventSource);
  checkItems('sources', filter.sources, known);
  checkItems('event_types', filter.eventTypes, eventTypes);
  const search = filter.search;
  if (search === undefined) return;
  const errors = coveredKinds(filter, kinds).map((kind) => {
    try {
      compiledFilterSearch(search, kind);
      return undefined;
    } catch (error) {
      return error;
    }
  });
  if (errors.length > 0 && errors.every((error) => error !== undefined)) throw errors[0];
}

export function compiledFilterSearch(search: string, kind: KindDefinition): CompiledSearch {
  return compileSearchParameter(search, kindListable(kind).searchable);
}

/**
 * The first Kind the filter reaches that its owner may not list (`may` says whether the owner may): a
 * source it names, or a Kind its search reaches through a relation (`dinosaur.species`). With no
 * sources named, it covers only the Kinds the owner may list, so that is never refused.
 */
export function unlistableKind(
  filter: WebhookFilter,
  kinds: readonly KindDefinition[],
  may: (kind: KindDefinition) => boolean,
): KindDefinition | undefined {
  for (const kind of coveredKinds(filter, kinds)) {
    if (!may(kind)) {
      if (filter.sources !== undefined) return kind;
      continue;
    }
    const hidden = searchTargets(filter.search, kind).find((target) => !may(target));
    if (hidden) return hidden;
  }
  return undefined;
}

/** Whether the owner may see an event of `kind` through this filter: may list it and what its search reaches. */
export function ownerSees(
  filter: WebhookFilter,
  kind: KindDefinition,
  may: (kind: KindDefinition) => boolean,
): boolean {
  return may(kind) && searchTargets(filter.search, kind).every(may);
}

// The Kinds a search reaches through relations when it is applied to `kind` (none if it does not compile).
function searchTargets(search: string | undefined, kind: KindDefinition): KindDefinition[] {
  if (search === undefined) return [];
  let relations: ReadonlySet<string>;
  try {
    relations = compiledFilterSearch(search, kind).relations;
  } catch {
    return [];
  }
  return relationsOf(kind)
    .filter(({ name }) => relations.has(name))
    .map(({ target }) => target);
}

function coveredKinds(filter: WebhookFilter, kinds: readonly KindDefinition[]): KindDefinition[] {
  return kinds.filter((kind) => filter.sources === undefined || filter.sources.includes(kind.eventSource));
}

function checkItems(field: string, items: readonly string[] | undefined, allowed: readonly string[]): void {
  for (const item of items ?? []) {
    if (!allowed.includes(item)) {
      throw validationFailed(
        `${field}: '${item}' is not one of ${allowed.map((name) => `'${name}'`).join(', ')}`,
      );
    }
  }
}
