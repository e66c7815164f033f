import type { RawBuilder, SqlBool } from 'kysely';
import { badRequest, validationFailed } from '../../errors/catalogue.ts';
import { type CompiledSearch, compileSearch } from '../../search/compiler.ts';
import { SearchError } from '../../search/errors.ts';
import { type OrderTerm, parseOrderBy } from '../../search/order.ts';
import { parseSearch } from '../../search/parser.ts';
import type { Searchable } from '../../search/searchable.ts';
import { orderKeys, readCursor } from './cursor.ts';
import type { EmbeddedField } from './relations.ts';

/** The largest page a list returns: a larger `size` is taken as this. */
export const maxPageSize = 65_500;
/** The page size of a list that gives no `size`. */
export const defaultPageSize = 100;

/** What a list may be filtered, ordered and projected by. */
export interface Listable {
  /** The fields and relations a search and an order may name, and their columns. */
  readonly searchable: Searchable;
  /** The JSON names `fields` may pick; `<relation>.<field>` embeds a field of a referenced resource. */
  readonly properties: readonly string[];
}

/** A list's parameters, checked and compiled. */
export interface ListQuery {
  /** The page number, from 1. */
  readonly page: number;
  /** Items per page, at most maxPageSize; 0 asks for the total only. */
  readonly size: number;
  /** The compiled search; undefined: no search. */
  readonly where: RawBuilder<SqlBool> | undefined;
  /** The order asked for; empty when none was. */
  readonly orderBy: readonly OrderTerm[];
  /** The properties to return; undefined: every property. */
  readonly fields: readonly string[] | undefined;
  /** Fields of referenced resources to show inside their relation's object (`fields=dinosaur.species`). */
  readonly embed: readonly EmbeddedField[];
  /** The relations the search, the order or the embedding reach. */
  readonly joins: readonly string[];
  /** A cursor's values: the page starts after the row they name (cursor.ts); then `page` is 1. */
  readonly after: readonly unknown[] | undefined;
}

type Query = Readonly<Record<string, unknown>>;

/**
 * The list parameters (docs/api.md#lists). An empty parameter means "not given", as rh-trex's k6 script
 * sends them. A bad parameter throws a 400 ApiError.
 */
export function parseListQuery(query: Query, listable: Listable): ListQuery {
  const page = given(query.page);
  const size = given(query.size);
  const search = given(query.search);
  const orderBy = given(query.orderBy);
  const fields = given(query.fields);
  const cursor = given(query.cursor);
  // In this order: which error a request with several bad parameters gets is part of the contract.
  const pageNumber = page === undefined ? 1 : integer('page', page, 1);
  const pageSize = size === undefined ? defaultPageSize : Math.min(integer('size', size, 0), maxPageSize);
  const compiled = search === undefined ? undefined : compileSearchParameter(search, listable.searchable);
  const terms = orderBy === undefined ? [] : ordering(orderBy, listable.searchable);
  const projected = fields === undefined ? undefined : projection(fields, listable.properties);
  if (cursor !== undefined && page !== undefined) throw badRequest('page and cursor cannot be combined');
  const after =
    cursor === undefined ? undefined : readCursor(cursor, orderKeys(listable.searchable.table, terms));
  const embed = (projected ?? []).flatMap((name) => {
    const [relation, field] = name.split('.');
    return relation !== undefined && field !== undefined ? [{ relation, field }] : [];
  });
  const joins = new Set([
    ...(compiled?.relations ?? []),
    ...terms.flatMap((term) => term.field.relation ?? []),
    ...embed.map(({ relation }) => relation),
  ]);
  return {
    page: pageNumber,
    size: pageSize,
    where: compiled?.where,
    orderBy: terms,
    // An embedded field shows inside its relation's object, so the projection keeps that object.
    fields: projected && [
      ...new Set([
        ...projected.filter((name) => !name.includes('.')),
        ...embed.map(({ relation }) => relation),
      ]),
    ],
    embed,
    joins: [...joins],
    after,
  };
}

/**
 * A search as the list language reads it: errors are 400 code 21 with the documented reasons. Also
 * used where a search is stored to be applied later (a webhook's filter).
 */
export function compileSearchParameter(search: string, searchable: Searchable): CompiledSearch {
  try {
    return compileSearch(parseSearch(search), searchable);
  } catch (error) {
    if (!(error instanceof SearchError)) throw error;
    const where = error.position === undefined ? '' : ` at position ${error.position}`;
    if (error.kind === 'syntax')
      throw badRequest(`Failed to parse search query: ${search} (${error.message}${where})`);
    throw badRequest(`Invalid search query: ${error.message}${where}`);
  }
}

function ordering(orderBy: string, searchable: Searchable): OrderTerm[] {
  try {
    return parseOrderBy(orderBy, searchable);
  } catch (error) {
    throw error instanceof SearchError ? badRequest(error.message) : error;
  }
}

// `fields=species,created_at`: the properties to return; `id` is always among them.
function projection(fields: string, properties: readonly string[]): string[] {
  const names = [...new Set(fields.split(',').map((name) => name.trim()))].filter((name) => name !== '');
  const unknown = names.filter((name) => !properties.includes(name));
  if (unknown.length > 0) {
    throw validationFailed(
      `unknown field${unknown.length > 1 ? 's' : ''} in fields: ${unknown.map((name) => `'${name}'`).join(', ')}`,
    );
  }
  return names.includes('id') ? names : ['id', ...names];
}

function given(value: unknown): string | undefined {
  if (Array.isArray(value)) throw badRequest('list parameters may be given only once');
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

// Any run of digits is an integer, however long: a huge size is clamped, a huge page is past the end.
function integer(name: string, text: string, minimum: number): number {
  if (!/^\d+$/.test(text) || Number(text) < minimum) {
    throw badRequest(`${name} must be an integer of at least ${minimum}, got '${text}'`);
  }
  return Number(text);
}

/** The count a list's total is asked to be: `Prefer: count=exact` or `count=estimated` (RFC 7240). */
export type CountPreference = 'exact' | 'estimated';

/**
 * The count preference of a `Prefer` header, if it states one: the first `count=` among its
 * comma-separated preferences (a value may be quoted; parameters after `;` are ignored). Preferences
 * this service does not know, or a count it does not offer, are ignored, as RFC 7240 asks.
 */
export function countPreference(prefer: string | string[] | undefined): CountPreference | undefined {
  const items = (Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '')).split(',');
  for (const item of items) {
    const [name = '', value = ''] = (item.split(';')[0] ?? '').split('=').map((part) => part.trim());
    if (name.toLowerCase() !== 'count') continue;
    const count = value.replace(/^"(.*)"$/, '$1').toLowerCase();
    return count === 'exact' || count === 'estimated' ? count : undefined;
  }
  return undefined;
}

/**
 * The `Link` header of a full page (RFC 8288): the request's own path and parameters, with the cursor
 * of the next page in place of any page number.
 */
export function nextLink(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl, 'http://localhost');
  url.searchParams.delete('page');
  url.searchParams.set('cursor', cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}

/** The `Preference-Applied` header of a list: what its total is. */
export function countApplied(estimated: boolean): string {
  return `count=${estimated ? 'estimated' : 'exact'}`;
}
