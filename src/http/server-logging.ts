import { type FastifyBaseLogger, LogController } from 'fastify';

// The logging options every server of the process shares: the process logger, the operation id as
// the request label, and no Fastify request lines (the API server writes its own, one per request).
export function serverLogging(logger: FastifyBaseLogger): {
  loggerInstance: FastifyBaseLogger;
  logController: LogController;
} {
  return {
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'operation_id' }),
  };
}
