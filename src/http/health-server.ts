import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ApiError } from '../errors/catalogue.ts';
import { errorBody } from './error-body.ts';
import { serverLogging } from './server-logging.ts';

export interface HealthDependencies {
  readonly logger: FastifyBaseLogger;
  readonly databaseAnswers: () => Promise<boolean>;
}

// The health server (docs/api.md#the-health-server): liveness, readiness, and a maintenance switch for
// operators.
export function buildHealthServer(deps: HealthDependencies): FastifyInstance {
  const app = Fastify(serverLogging(deps.logger));
  let maintenance = false;

  const ready = async (): Promise<{ ok: true } | { ok: false; reason: string }> => {
    if (maintenance) return { ok: false, reason: 'The service is in maintenance mode' };
    if (!(await deps.databaseAnswers())) return { ok: false, reason: 'The database does not answer' };
    return { ok: true };
  };
  const readiness = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const state = await ready();
    if (state.ok) return {};
    return reply.code(503).send(errorBody(new ApiError('ServiceUnavailable').entry, state.reason));
  };

  app.get('/healthcheck', readiness);
  app.get('/readyz', readiness);
  app.get('/livez', async () => ({}));
  app.post('/healthcheck/down', async () => {
    maintenance = true;
    deps.logger.warn('maintenance mode on: /healthcheck answers 503');
    return {};
  });
  app.post('/healthcheck/up', async () => {
    maintenance = false;
    deps.logger.info('maintenance mode off');
    return {};
  });
  return app;
}
