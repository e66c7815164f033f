import { AsyncLocalStorage } from 'node:async_hooks';

// Who caused the work in progress, and through which request: the audit fields of every event and the
// operation id outbound requests carry.
export interface RequestContext {
  readonly actor: string; // the token's username, or `anonymous` when authentication is off
  readonly operationId: string | undefined;
  // The caller of a request whose token was verified; undefined when authentication is off and for the
  // service's own work.
  readonly caller?: Caller;
}

// What the authorization policy lets the caller do, for the paths that reach more than their route's
// Kind (a search through a relation, a webhook's sources, the events of other Kinds).
export interface Caller {
  readonly claims: Readonly<Record<string, unknown>>;
  may(kind: string, verb: string): boolean;
  // With tenancy on (--tenant-claim): the caller's tenant (undefined when the token names none), and
  // whether the policy lets the caller see every tenant (an administrator). Without tenancy, undefined.
  readonly tenancy?: { readonly tenant: string | undefined; readonly allTenants: boolean };
}

// Whether the current caller may use `verb` on `kind`: always outside a request with a verified token.
export function callerMay(kind: string, verb: string): boolean {
  return currentContext().caller?.may(kind, verb) ?? true;
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
