import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forFile } from './for-file.ts';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly receivedAt: number; // Date.now() when the whole request had arrived
}

// What the receiver does with a request: answer with a status, or hang (never answer until closed).
export type Reaction = number | 'hang';

export interface Receiver {
  readonly url: string; // http://127.0.0.1:<port>
  readonly requests: ReceivedRequest[];
  // Decides each answer; by default 200. `seen` counts earlier requests with the same path.
  react: (request: ReceivedRequest, seen: number) => Reaction;
  waitUntil(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  // Drops the connections of the requests left hanging (their senders see a reset).
  dropHanging(): void;
  close(): Promise<void>;
}

// A real HTTP server on 127.0.0.1 and an ephemeral port that records every request: the other end of
// webhook deliveries and outbound calls in tests (never a mock of our own code).
export async function startReceiver(): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: ReceivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      };
      const seen = receiver.requests.filter((earlier) => earlier.path === received.path).length;
      receiver.requests.push(received);
      const reaction = receiver.react(received, seen);
      if (reaction === 'hang') {
        hanging.add(response);
        response.on('close', () => hanging.delete(response));
        return;
      }
      response.writeHead(reaction, { 'content-type': 'text/plain' }).end(`answered ${reaction}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    react: () => 200,
    waitUntil: async (condition, what, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    dropHanging: () => {
      for (const response of hanging) response.destroy();
    },
    close: async () => {
      receiver.dropHanging();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

// A receiver for the tests of one file (or describe block), started before them and closed after.
export function receiverForFile(): Receiver {
  return forFile('receiver', startReceiver, (receiver) => receiver.close());
}
