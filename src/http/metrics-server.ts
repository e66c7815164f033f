import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { serverLogging } from './server-logging.ts';

// The metrics server (docs/api.md#the-metrics-server): Prometheus text format on its own port.
export function buildMetricsServer(logger: FastifyBaseLogger, registry: Registry): FastifyInstance {
  const app = Fastify(serverLogging(logger));
  app.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  return app;
}
