import type { IncomingMessage } from 'node:http';

export const operationIdHeader = 'x-operation-id';

const acceptable = /^[A-Za-z0-9._-]{1,64}$/;

// A caller's operation id is reused when it is safe to echo and log; otherwise a new one is made.
export function operationIdFor(request: IncomingMessage, newId: () => string): string {
  const given = request.headers[operationIdHeader];
  return typeof given === 'string' && acceptable.test(given) ? given : newId();
}
