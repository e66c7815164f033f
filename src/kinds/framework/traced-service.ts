import type { Tracer } from '../../observability/tracing.ts';
import type { Fields } from './fields.ts';
import { KindService, type KindServiceParts } from './service.ts';

/**
 * The service the composition root hands to a Kind's routes, controllers and background work. With a
 * tracer, every call of a public method is a span (`Dinosaur.create`) between the request's span and
 * the SQL spans of the call, whatever methods KindService has; without one, the plain service, which
 * pays nothing.
 */
export function createKindService<F extends Fields>(
  parts: KindServiceParts<F>,
  tracer: Tracer | undefined,
): KindService<F> {
  const service = new KindService(parts);
  return tracer ? tracedService(service, tracer) : service;
}

/**
 * A proxy whose methods run the service's own inside a span named `<Kind>.<method>`, a subclass's
 * methods included. The service's calls to its own methods go to the service itself (`this` is the
 * target), so one call is one span. Every method answers a promise through it, as KindService's do.
 */
export function tracedService<S extends KindService>(service: S, tracer: Pick<Tracer, 'inSpan'>): S {
  const kind = service.kind.name;
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(service, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor')
        return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        method = (...args: unknown[]) =>
          tracer.inSpan(
            `${kind}.${property}`,
            'internal',
            { 'trex.kind': kind, 'trex.resource.id': typeof args[0] === 'string' ? args[0] : undefined },
            async () => await value.apply(target, args),
          );
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
