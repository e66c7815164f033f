import type { FastifyInstance, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import { ApiError } from '../errors/catalogue.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const methods: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type MethodRoute = Omit<RouteOptions, 'method' | 'url'>;

// Registers the methods a path supports and answers every other method the server knows with 405, an
// Allow header and an Error body (rh-trex answers 404 or an empty body). OPTIONS stays with CORS
// preflight when CORS is configured.
export function defineResource(
  app: FastifyInstance,
  url: string,
  routes: Partial<Record<Method, MethodRoute>>,
): void {
  const allowed = methods.filter((method) => routes[method] !== undefined);
  for (const method of allowed) {
    app.route({ ...routes[method], method, url } as RouteOptions);
  }
  const served: string[] = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])];
  const preflight = app.hasRoute({ method: 'OPTIONS', url: '*' });
  const others = app.supportedMethods.filter(
    (method) => !served.includes(method) && !(preflight && method === 'OPTIONS'),
  ) as HTTPMethods[];
  const allow = served.join(', ');
  const refuse = async (request: FastifyRequest): Promise<never> => {
    throw new ApiError('MethodNotAllowed', `Method ${request.method} is not allowed on ${url}`, {
      Allow: allow,
    });
  };
  // Refused on arrival, before any body parsing (QUERY, for one, demands a Content-Type).
  app.route({ method: others, url, schema: { hide: true }, onRequest: refuse, handler: refuse });
}
