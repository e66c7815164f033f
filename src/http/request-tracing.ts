import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerSpan, Tracer } from '../observability/tracing.ts';

// One server span per API request, from routing to the response's end, named after the route
// template (`GET /api/rh-trex/v1/dinosaurs/:id`) and carrying the operation id. Route handlers run
// inside it, so the spans of the service calls and SQL they cause are its children. Installed only
// when tracing is on; register it before any route, so that every route's handler is wrapped.
export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  const spans = new WeakMap<FastifyRequest, ServerSpan>();

  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    spans.set(
      request,
      tracer.startServerSpan(`${request.method}${route ? ` ${route}` : ''}`, request.headers, request.id, {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': request.url.split('?')[0],
      }),
    );
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    span?.annotate({ 'http.response.status_code': reply.statusCode });
    span?.end(reply.statusCode >= 500);
  });
  // A client that goes away before its answer (a closed watch stream) still ends the span.
  app.addHook('onRequestAbort', async (request) => spans.get(request)?.end(false));

  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    const traced: RouteHandlerMethod = function (this: FastifyInstance, request, reply) {
      const span = spans.get(request);
      return span
        ? span.within(() => handler.call(this, request, reply))
        : handler.call(this, request, reply);
    };
    route.handler = traced;
  });
}
