import { operationIdHeader } from '../context/operation-id.ts';
import { currentContext } from '../context/request-context.ts';

export interface OutboundRequest {
  readonly method?: string; // GET by default
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number; // the client's default when absent
  // Tries after the first when the attempt fails on the network or with 502, 503 or 504. By default 2
  // for the methods that are safe to repeat (GET, HEAD, PUT, DELETE, OPTIONS) and 0 for the others.
  readonly retries?: number;
  // The X-Operation-ID to send; by default the one of the request in progress, if any.
  readonly operationId?: string;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface OutboundObserver {
  outboundRequest(host: string, code: string, seconds: number): void;
}

export interface HttpClientSettings {
  readonly timeoutMs: number;
  readonly retryDelayMs: number; // before the first retry; doubled before each later one
  readonly userAgent: string;
}

// A request that got no HTTP answer: refused, reset, unresolvable, or not answered in time.
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

const repeatable = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const retryableStatus = new Set([502, 503, 504]);
// Receivers' bodies are kept for diagnostics only; a huge one must not fill memory.
const maxResponseText = 64 * 1024;

// The one way this service calls other services: a timeout on every request (headers and body),
// retries only where repeating is safe, the operation id propagated, redirects never followed (a
// redirect could lead to an address the caller was not allowed to reach), and metrics by host and code.
// Created once in the composition root and handed to whoever calls out.
export class HttpClient {
  constructor(
    private readonly settings: HttpClientSettings,
    private readonly observer: OutboundObserver,
  ) {}

  async request(request: OutboundRequest): Promise<OutboundResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    const retries = request.retries ?? (repeatable.has(method) ? 2 : 0);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      try {
        const response = await this.once(method, request);
        if (last || !retryableStatus.has(response.status)) return response;
      } catch (error) {
        if (last) throw error;
      }
      await delay(this.settings.retryDelayMs * 2 ** attempt);
    }
  }

  private async once(method: string, request: OutboundRequest): Promise<OutboundResponse> {
    const url = new URL(request.url);
    const operationId = request.operationId ?? currentContext().operationId;
    const headers: Record<string, string> = {
      'user-agent': this.settings.userAgent,
      ...(operationId ? { [operationIdHeader]: operationId } : {}),
      ...request.headers,
    };
    const timeoutMs = request.timeoutMs ?? this.settings.timeoutMs;
    const started = performance.now();
    const observe = (code: string): void =>
      this.observer.outboundRequest(url.host, code, (performance.now() - started) / 1000);
    try {
      const response = await fetch(url, {
        method,
        headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await readLimited(response);
      observe(String(response.status));
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      observe(timedOut ? 'timeout' : 'error');
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : describe(error);
      throw new OutboundError(`${method} ${url.origin}${url.pathname}: ${reason}`, timedOut);
    }
  }
}

// The body as text, at most maxResponseText characters of it; the rest is discarded unread.
async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.length >= maxResponseText) {
      await response.body.cancel().catch(() => {});
      return text.slice(0, maxResponseText);
    }
  }
  return text + decoder.decode();
}

// fetch hides the network's reason (ECONNREFUSED, ENOTFOUND) in `cause`.
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
