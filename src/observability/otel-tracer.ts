// The OpenTelemetry implementation of our tracing seam, imported only when tracing is on
// (see tracing.ts). Spans are exported in batches as OTLP/HTTP JSON.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  createContextKey,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  type SpanKind as OurSpanKind,
  operationIdAttribute,
  type ServerSpan,
  type SpanAttributes,
  type TracedService,
  type Tracer,
} from './tracing.ts';

const kinds: Record<OurSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  internal: SpanKind.INTERNAL,
  client: SpanKind.CLIENT,
};

const operationIdKey = createContextKey('trex operation id');

// The active context lives in an AsyncLocalStorage of this tracer's own rather than in OpenTelemetry's
// global context manager: nothing global is registered, so two services in one process (the tests)
// never see each other's spans.
export function createOtelTracer(otlpEndpoint: string, service: TracedService): Tracer {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service.name, 'service.version': service.version }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }),
      }),
    ],
  });
  const tracer = provider.getTracer(service.name, service.version);
  const propagator = new W3CTraceContextPropagator();
  const active = new AsyncLocalStorage<Context>();

  return {
    startServerSpan: (name, headers, operationId, attributes) => {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.SERVER, attributes: withOperationId(attributes, operationId) },
        parent,
      );
      const context = trace.setSpan(parent, span).setValue(operationIdKey, operationId);
      let ended = false;
      const serverSpan: ServerSpan = {
        within: (work) => active.run(context, work),
        annotate: (more) => span.setAttributes(defined(more)),
        end: (failed) => {
          if (ended) return;
          ended = true;
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
      return serverSpan;
    },
    inSpan: async (name, kind, attributes, work) => {
      const parent = active.getStore();
      if (!parent) return await work();
      const operationId = parent.getValue(operationIdKey);
      const span = tracer.startSpan(
        name,
        {
          kind: kinds[kind],
          attributes: withOperationId(attributes, typeof operationId === 'string' ? operationId : undefined),
        },
        parent,
      );
      try {
        return await active.run(trace.setSpan(parent, span), work);
      } catch (error) {
        recordFailure(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown: () => provider.shutdown(),
  };
}

function withOperationId(attributes: SpanAttributes, operationId: string | undefined): Attributes {
  return defined({ ...attributes, [operationIdAttribute]: operationId });
}

function defined(attributes: SpanAttributes): Attributes {
  const result: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) result[name] = value;
  return result;
}

// The error's type only: messages of database errors can quote the values a client sent, and spans
// leave the service. The request's log line, found by its operation id, has the details.
function recordFailure(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute('error.type', error instanceof Error ? error.constructor.name : typeof error);
}
