import { AsyncLocalStorage } from 'node:async_hooks';

// Who caused the work in progress, and through which request: the audit fields of every event and the
// operation id outbound requests carry.
export interface RequestContext {
  readonly actor: string; // the token's username, or `anonymous` when authentication is off
  readonly operationId: string | undefined;
}

// Work done outside any request (controllers, upkeep) is the service's own.
export const systemContext: RequestContext = { actor: 'system', operationId: undefined };

// AsyncLocalStorage rather than an argument: the context is set once at the HTTP edge and read once
// where an event is recorded (and where an outbound request is sent), and every layer in between (each
// Kind's handlers, service, generated code) would otherwise carry a parameter it never looks at.
const storage = new AsyncLocalStorage<RequestContext>();

export function runInContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentContext(): RequestContext {
  return storage.getStore() ?? systemContext;
}
