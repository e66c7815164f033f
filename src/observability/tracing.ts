import type { IncomingHttpHeaders } from 'node:http';

// Our own small tracing seam. The HTTP edge, the Kind services and the database pool call this
// interface, never OpenTelemetry directly, so that with tracing off (the default) nothing of
// OpenTelemetry is even loaded: the composition root then passes `undefined`, and each seam installs
// nothing at all (no hooks, no wrappers) rather than calling a no-op on every request.

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;
export type SpanKind = 'server' | 'internal' | 'client';

// The span of one HTTP request, the root of everything the request does.
export interface ServerSpan {
  // Runs `work` with this span active: the spans it starts become this span's children.
  within<T>(work: () => T): T;
  annotate(attributes: SpanAttributes): void;
  // Ends the span (later calls do nothing); `failed` marks it an error.
  end(failed: boolean): void;
}

export interface Tracer {
  // A request's span, continuing the caller's trace when the headers carry a W3C `traceparent`.
  // Every span started under it carries `operationId` as the attribute `operation_id`.
  startServerSpan(
    name: string,
    headers: IncomingHttpHeaders,
    operationId: string,
    attributes: SpanAttributes,
  ): ServerSpan;
  // Runs `work` in a span that is a child of the active one and ends when `work` settles. Only inside a
  // trace: with no active span (a health probe's query, the controllers' resync) `work` runs untraced,
  // so background work never floods the trace store with one-span traces.
  inSpan<T>(name: string, kind: SpanKind, attributes: SpanAttributes, work: () => Promise<T>): Promise<T>;
  // Exports what is still buffered, then stops.
  shutdown(): Promise<void>;
}

export interface TracingSettings {
  readonly enabled: boolean;
  // Base URL of an OTLP/HTTP receiver; spans are posted to `${endpoint}/v1/traces`.
  readonly otlpEndpoint: string;
}

export interface TracedService {
  readonly name: string;
  readonly version: string;
}

export const operationIdAttribute = 'operation_id';

// Undefined when tracing is off. The SDK is imported only here, and only when tracing is on.
export async function startTracer(
  settings: TracingSettings,
  service: TracedService,
): Promise<Tracer | undefined> {
  if (!settings.enabled) return undefined;
  const { createOtelTracer } = await import('./otel-tracer.ts');
  return createOtelTracer(settings.otlpEndpoint, service);
}
