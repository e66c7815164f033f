import { type ClientRequest, type IncomingHttpHeaders, request } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

// One request sent with node:http exactly as given (path bytes, header values, body bytes), on its own
// connection, as the fuzz tests send them: what the generators make reaches the server byte for byte.

export interface Exchange {
  readonly method: string;
  readonly path: string; // sent as is; a latin1 string, so UTF-8 bytes can be sent raw
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer; // as received
  readonly text: string; // decompressed, UTF-8
  // biome-ignore lint/suspicious/noExplicitAny: the fuzz reads arbitrary JSON and asserts on its shape
  readonly json: any; // the parsed body when it is JSON, else undefined
  readonly eventStream: boolean; // a text/event-stream response, closed as soon as its headers came
}

const requestTimeoutMs = 10_000;

// A response that does not come within the timeout fails the test: the service hangs. A reused
// connection would carry one request's mistakes into the next, so each has its own.
export function exchange(baseUrl: string, outgoing: Exchange): Promise<Reply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...outgoing.headers };
    if (outgoing.body !== undefined) headers['content-length'] = String(Buffer.byteLength(outgoing.body));
    let sent: ClientRequest;
    try {
      sent = request({
        host: hostname,
        port,
        method: outgoing.method,
        path: outgoing.path,
        headers,
        agent: false,
      });
    } catch (error) {
      reject(error);
      return;
    }
    sent.setTimeout(requestTimeoutMs, () =>
      sent.destroy(new Error(`no response within ${requestTimeoutMs} ms: the service hangs`)),
    );
    sent.on('error', reject);
    sent.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (/^text\/event-stream/i.test(String(response.headers['content-type'] ?? ''))) {
        sent.destroy();
        response.destroy();
        resolve({
          status,
          headers: response.headers,
          raw: Buffer.alloc(0),
          text: '',
          json: undefined,
          eventStream: true,
        });
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        try {
          resolve(replyOf(status, response.headers, Buffer.concat(chunks)));
        } catch (error) {
          reject(error);
        }
      });
    });
    sent.end(outgoing.body);
  });
}

function replyOf(status: number, headers: IncomingHttpHeaders, raw: Buffer): Reply {
  const encoding = headers['content-encoding'];
  const plain =
    raw.length === 0
      ? raw
      : encoding === 'gzip'
        ? gunzipSync(raw)
        : encoding === 'br'
          ? brotliDecompressSync(raw)
          : encoding === 'deflate'
            ? inflateSync(raw)
            : raw;
  const text = plain.toString('utf8');
  let json: unknown;
  if (/json/i.test(String(headers['content-type'] ?? '')) && text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined; // the Error-body check then fails and shows the text
    }
  }
  return { status, headers, raw, text, json, eventStream: false };
}
