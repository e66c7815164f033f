import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerSpan, Tracer } from '../observability/tracing.ts';

// One server span per API request, from routing until the response closes, named after the route
// template (`GET /api/rh-trex/v1/dinosaurs/:id`) and carrying the operation id. Route handlers run
// inside it, so the spans of the service calls and SQL they cause are its children, except for
// streams (`isStream`): a watch stream lives for hours and polls all along, so its span covers its life
// and nothing else. Installed only when tracing is on, before any route, so every handler is wrapped.
export function traceRequests(
  app: FastifyInstance,
  tracer: Tracer,
  isStream: (request: FastifyRequest) => boolean,
): void {
  const spans = new WeakMap<FastifyRequest, ServerSpan>();

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const span = tracer.startServerSpan(
      `${request.method}${route ? ` ${route}` : ''}`,
      request.headers,
      request.id,
      { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] },
    );
    spans.set(request, span);
    // `close` comes for every response: sent, hijacked (a stream) or abandoned by its client.
    reply.raw.once('close', () => {
      span.annotate({ 'http.response.status_code': reply.raw.statusCode });
      span.end(reply.raw.statusCode >= 500);
    });
  });

  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    const traced: RouteHandlerMethod = function (this: FastifyInstance, request, reply) {
      const span = isStream(request) ? undefined : spans.get(request);
      return span
        ? span.within(() => handler.call(this, request, reply))
        : handler.call(this, request, reply);
    };
    route.handler = traced;
  });
}
