import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';

// One dispatched server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html).
export interface SseMessage {
  readonly id: string | undefined; // the `id:` field of this message, if it had one
  readonly event: string; // the `event:` field, `message` when absent
  readonly data: string;
}

export interface SseStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  // The whole body, for a response that is not an event stream (an error).
  readonly body: string;
  // Everything received so far, in order.
  readonly messages: SseMessage[];
  readonly comments: string[];
  // Whether the server ended the stream (or the connection closed).
  readonly ended: boolean;
  // Resolves with all messages once there are at least `count` of them; rejects after `timeoutMs`.
  waitForMessages(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  // Resolves once `predicate` holds over everything received; rejects after `timeoutMs`.
  waitUntil(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  // Stops reading from the socket (the server then meets TCP backpressure), and starts again.
  pause(): void;
  resume(): void;
  close(): void;
}

// Opens `url` as an event stream with node:http (fetch offers no way to stop reading a socket), and
// parses the stream incrementally. Resolves once the response headers arrived; for a 200 it also waits
// for the first chunk, so the server has fixed the stream's start position.
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const outgoing: ClientRequest = request(url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', ...headers },
    });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const stream = new Stream(outgoing, response);
      if (response.statusCode !== 200) {
        stream.waitForEnd(20_000).then(() => resolve(stream), reject);
      } else {
        stream
          .waitUntil(() => stream.received, 'the first chunk', 20_000)
          .then(() => resolve(stream), reject);
      }
    });
    outgoing.end();
  });
}

class Stream implements SseStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  body = '';
  ended = false;
  received = false;
  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private eventId: string | undefined;
  private sawId = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly outgoing: ClientRequest,
    private readonly response: IncomingMessage,
  ) {
    this.status = response.statusCode ?? 0;
    this.headers = response.headers;
    response.setEncoding('utf8'); // decodes multi-byte characters split across chunks
    response.on('data', (chunk: string) => {
      this.received = true;
      this.body += this.status === 200 ? '' : chunk;
      if (this.status === 200) this.feed(chunk);
      this.notify();
    });
    const finish = (): void => {
      this.ended = true;
      this.notify();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
    outgoing.on('error', finish);
  }

  waitForMessages(count: number, timeoutMs = 20_000): Promise<SseMessage[]> {
    return this.waitUntil(() => this.messages.length >= count, `${count} messages`, timeoutMs).then(
      () => this.messages,
    );
  }

  waitForEnd(timeoutMs = 20_000): Promise<void> {
    return this.waitUntil(() => this.ended, 'the end of the stream', timeoutMs);
  }

  waitUntil(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; got ${this.messages.length} messages, ` +
              `${this.comments.length} comments, ended: ${this.ended}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.outgoing.destroy();
    this.response.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  // Splits on CRLF, LF or CR, keeping an incomplete last line (and a CR that may precede an LF).
  private feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.buffer);
      if (!match) return;
      if (match[0] === '\r' && match.index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\0')) {
      this.eventId = value;
      this.sawId = true;
    }
  }

  private dispatch(): void {
    if (this.data.length > 0) {
      this.messages.push({
        id: this.sawId ? this.eventId : undefined,
        event: this.eventType === '' ? 'message' : this.eventType,
        data: this.data.join('\n'),
      });
    }
    this.data = [];
    this.eventType = '';
    this.eventId = undefined;
    this.sawId = false;
  }
}
