import { type Logger, pino } from 'pino';
import { serviceName } from '../service-name.ts';

// JSON lines, or pretty lines when a person watches a terminal in development. Nothing that carries
// credentials is ever logged: request lines hold method, route, status, duration and operation id only,
// and these paths are redacted should anything pass them to the logger.
export function createLogger(level: string, pretty: boolean): Logger {
  return pino({
    level,
    base: { service: serviceName },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        'token',
        'password',
      ],
      censor: '[redacted]',
    },
    transport: pretty
      ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } }
      : undefined,
  });
}
