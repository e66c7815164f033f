// A typed client of this service's API, from types generated from its OpenAPI document
// (src/client/schema.ts, written by `npm run openapi`). Paths, parameters, bodies and responses are
// checked by the compiler:
//
//   const api = createTrexClient({ baseUrl: 'http://localhost:8000', token });
//   const { data, error } = await api.POST('/api/rh-trex/v1/dinosaurs', { body: { species: 'T. rex' } });
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.ts';

export type { components, operations, paths } from './schema.ts';
// JSON responses only: a watch stream (`?watch=true`, text/event-stream) is read with an SSE client.
export type TrexClient = Client<paths, 'application/json'>;
export type Schemas = components['schemas'];

export interface TrexClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  readonly baseUrl: string; // the server, e.g. http://localhost:8000: the paths carry the API root
  readonly token?: string; // sent as `Authorization: Bearer <token>`
  readonly headers?: Readonly<Record<string, string>>; // sent with every request
}

export function createTrexClient({ baseUrl, token, headers, ...options }: TrexClientOptions): TrexClient {
  return createClient<paths, 'application/json'>({
    ...options,
    baseUrl,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
}

/**
 * The cursor of the next page of a list, from its answer's `Link` header (rel="next"); undefined on the
 * last page. Pass it as the `cursor` query parameter:
 *
 *   let cursor: string | undefined;
 *   do {
 *     const { data, response } = await api.GET('/api/rh-trex/v1/dinosaurs', { params: { query: { cursor } } });
 *     // ... data.items
 *     cursor = nextCursor(response);
 *   } while (cursor);
 */
export function nextCursor(response: Response): string | undefined {
  const next = /<([^>]*)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1];
  return next === undefined
    ? undefined
    : (new URL(next, 'http://localhost').searchParams.get('cursor') ?? undefined);
}
