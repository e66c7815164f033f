import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify';
import { ApiError } from '../errors/catalogue.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const methods: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type MethodRoute = Omit<RouteOptions, 'method' | 'url'>;

// Registers the methods a path supports and answers every other method with 405, an Allow header
// and an Error body (rh-trex answers 404 or an empty body). OPTIONS stays with CORS preflight.
export function defineResource(
  app: FastifyInstance,
  url: string,
  routes: Partial<Record<Method, MethodRoute>>,
): void {
  const allowed = methods.filter((method) => routes[method] !== undefined);
  for (const method of allowed) {
    app.route({ ...routes[method], method, url } as RouteOptions);
  }
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
  const others: HTTPMethods[] = methods.filter((method) => !allowed.includes(method));
  if (!allowed.includes('GET')) others.push('HEAD');
  if (others.length === 0) return;
  app.route({
    method: others,
    url,
    schema: { hide: true },
    handler: async (request) => {
      throw new ApiError('MethodNotAllowed', `Method ${request.method} is not allowed on ${url}`, {
        Allow: allow,
      });
    },
  });
}
