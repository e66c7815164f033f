import { badRequest } from '../errors/catalogue.ts';

export const maxPageSize = 65_500;
export const defaultPageSize = 100;

export interface ListParams {
  readonly page: number;
  readonly size: number;
}

type Query = Readonly<Record<string, unknown>>;

// Paging parameters (SPEC §3). An empty parameter means "not given", as rh-trex's k6 script sends them.
export function parseListParams(query: Query): ListParams {
  for (const name of ['search', 'orderBy', 'fields']) {
    if (given(query[name]) !== undefined) {
      // The list language is not built yet: refusing is safer than returning an unfiltered list.
      throw badRequest(`the '${name}' parameter is not supported yet`);
    }
  }
  const page = given(query.page);
  const size = given(query.size);
  const params = {
    page: page === undefined ? 1 : integer('page', page, 1),
    size: size === undefined ? defaultPageSize : Math.min(integer('size', size, 0), maxPageSize),
  };
  if (!Number.isSafeInteger(params.page * params.size))
    throw badRequest(`page ${params.page} is out of range`);
  return params;
}

function given(value: unknown): string | undefined {
  if (Array.isArray(value)) throw badRequest('list parameters may be given only once');
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function integer(name: string, text: string, minimum: number): number {
  if (!/^\d+$/.test(text) || Number(text) < minimum || !Number.isSafeInteger(Number(text))) {
    throw badRequest(`${name} must be an integer of at least ${minimum}, got '${text}'`);
  }
  return Number(text);
}
