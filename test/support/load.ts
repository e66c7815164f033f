// Traffic for fault-injection tests: requests that always settle (each has its own deadline) and a
// record of what every one of them got back, so a test can check each outcome afterwards.

export const collection = '/api/rh-trex/v1/dinosaurs';

export type RequestKind = 'create' | 'get' | 'patch' | 'list';

export interface Outcome {
  readonly client: number;
  readonly kind: RequestKind;
  readonly method: string;
  readonly path: string;
  // Sent as X-Operation-ID, so the request can be found in the service's logs.
  readonly operationId: string;
  // The species a create or patch sent: unique, so the test can look for it in the database.
  readonly species?: string;
  readonly startedAt: number; // Date.now()
  readonly endedAt: number;
  readonly status?: number; // absent when no complete response came
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON and assert on its shape
  readonly body?: any;
  // How it failed when no complete response came: ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, TimeoutError...
  readonly error?: string;
}

export interface SendOptions {
  readonly client?: number;
  readonly kind: RequestKind;
  readonly method?: string;
  readonly path: string;
  readonly body?: unknown;
  readonly species?: string;
  readonly operationId: string;
  readonly token?: string;
  readonly timeoutMs: number;
}

// One request, never hanging past `timeoutMs`, never throwing: a failure is part of the outcome.
export async function send(baseUrl: string, options: SendOptions): Promise<Outcome> {
  const method = options.method ?? methodOf(options.kind);
  const headers: Record<string, string> = { 'x-operation-id': options.operationId };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const startedAt = Date.now();
  const base = {
    client: options.client ?? 0,
    kind: options.kind,
    method,
    path: options.path,
    operationId: options.operationId,
    species: options.species,
    startedAt,
  };
  try {
    const response = await fetch(`${baseUrl}${options.path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') && text !== '';
    let body: unknown;
    try {
      body = json ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { ...base, endedAt: Date.now(), status: response.status, body };
  } catch (error) {
    return { ...base, endedAt: Date.now(), error: failureName(error) };
  }
}

function methodOf(kind: RequestKind): string {
  return kind === 'create' ? 'POST' : kind === 'patch' ? 'PATCH' : 'GET';
}

// fetch wraps the socket's error as the cause of a TypeError; a timeout is a DOMException.
export function failureName(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const { code, name, cause } = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError' || name === 'AbortError') return name;
    if (cause === undefined) return String((current as Error).message ?? name);
    current = cause;
  }
  return String(error);
}

export interface LoadOptions {
  readonly baseUrl: string;
  readonly clients: number;
  readonly timeoutMs: number;
  readonly token?: string;
  // Ids to GET and PATCH before a client has created its own.
  readonly seedIds?: readonly string[];
  // A client ends after an outcome for which this holds (for instance: connection refused).
  readonly stopOn?: (outcome: Outcome) => boolean;
  readonly pauseMs?: number;
  readonly tag: string; // prefixes operation ids and species
}

export interface Load {
  readonly outcomes: Outcome[];
  // Ends every client after its current request; resolves once all have ended.
  stop(): Promise<void>;
  // Resolves once every client has ended by itself (stopOn) or by stop().
  readonly ended: Promise<void>;
}

// `clients` loops of create, get, patch, list: a steady mix of reads and writes.
export function startLoad(options: LoadOptions): Load {
  const outcomes: Outcome[] = [];
  let stopping = false;
  const seeds = options.seedIds ?? [];
  const run = async (client: number): Promise<void> => {
    let sequence = 0;
    let own: string | undefined;
    const next = async (kind: RequestKind, path: string, body?: { species: string }): Promise<Outcome> => {
      const outcome = await send(options.baseUrl, {
        client,
        kind,
        path,
        body,
        species: body?.species,
        operationId: `${options.tag}-${client}-${sequence++}`,
        token: options.token,
        timeoutMs: options.timeoutMs,
      });
      outcomes.push(outcome);
      return outcome;
    };
    const done = (outcome: Outcome): boolean => stopping || options.stopOn?.(outcome) === true;
    while (!stopping) {
      const species = `${options.tag}-${client}-${sequence}`;
      const created = await next('create', collection, { species });
      if (created.status === 201 && typeof created.body?.id === 'string') own = created.body.id;
      if (done(created)) return;
      const id = own ?? seeds[(client + sequence) % Math.max(1, seeds.length)];
      if (id !== undefined) {
        if (done(await next('get', `${collection}/${id}`))) return;
        const renamed = `${options.tag}-${client}-${sequence}-patched`;
        if (done(await next('patch', `${collection}/${id}`, { species: renamed }))) return;
      }
      if (done(await next('list', `${collection}?size=5&orderBy=created_at desc`))) return;
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const ended = Promise.all(Array.from({ length: options.clients }, (_, client) => run(client))).then(
    () => undefined,
  );
  return {
    outcomes,
    ended,
    stop: async () => {
      stopping = true;
      await ended;
    },
  };
}

export const successStatus: Record<RequestKind, number> = { create: 201, get: 200, patch: 200, list: 200 };

export function succeeded(outcome: Outcome): boolean {
  return outcome.status === successStatus[outcome.kind];
}

// 503 with the Error body of code 27 (docs/errors.md), naming the request's operation id.
export function unavailable(outcome: Outcome): boolean {
  const body = outcome.body;
  return (
    outcome.status === 503 &&
    body?.kind === 'Error' &&
    body.id === '27' &&
    body.code === 'rh-trex-27' &&
    body.href === '/api/rh-trex/v1/errors/27' &&
    typeof body.reason === 'string' &&
    body.operation_id === outcome.operationId
  );
}

// A line per outcome, short enough to read in a failed assertion.
export function describeOutcome(outcome: Outcome, since = 0): string {
  const what =
    outcome.status === undefined ? outcome.error : `${outcome.status} ${JSON.stringify(outcome.body)}`;
  return `${outcome.method} ${outcome.path} [${outcome.operationId}] at +${outcome.startedAt - since} ms took ${
    outcome.endedAt - outcome.startedAt
  } ms: ${String(what).slice(0, 300)}`;
}
