import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { serviceForFile } from '../support/service.ts';

// The limits of the configuration (README.md, docs/operations.md#too-much-load): rh-trex parses
// --http-read-timeout and --http-write-timeout and ignores them; here they bound slow clients and idle
// connections.
const service = serviceForFile({
  httpReadTimeout: '1s',
  httpWriteTimeout: '1500ms',
  httpHeaderLimit: '2048',
  // Every database wait ends, with an answer, before the write timeout (the service refuses otherwise).
  dbQueryTimeout: '400ms',
  dbAcquireTimeout: '400ms',
});

interface Exchange {
  readonly text: string; // everything the server sent before it closed
  readonly closedAfterMs: number;
}

// Opens a raw connection, sends `parts` (a delay in ms between them), and collects all the server sends
// until it closes the connection.
function exchange(parts: (string | number)[], waitMs = 10_000): Promise<Exchange> {
  const { hostname, port } = new URL(service.apiUrl);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${waitMs} ms; received: ${text}`));
    }, waitMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('error', () => {});
    socket.on('connect', async () => {
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((done) => setTimeout(done, part));
        else if (!socket.destroyed) socket.write(part);
      }
    });
  });
}

function errorBodyOf(text: string): Record<string, unknown> {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('slow and oversized clients', () => {
  it('answers a client that stops sending its body with the Error body, then closes (read timeout)', async () => {
    const token = await service.keys.mint();
    const { text, closedAfterMs } = await exchange([
      `POST /api/rh-trex/v1/dinosaurs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"spe',
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorBodyOf(text)).toMatchObject({
      kind: 'Error',
      code: 'rh-trex-17',
      reason: expect.stringMatching(/in time/),
    });
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('closes on a client that never finishes its headers (slowloris)', async () => {
    const { text, closedAfterMs } = await exchange([
      'GET /api/rh-trex HTTP/1.1\r\nHost: x\r\n',
      300,
      'X-Slow: 1\r\n',
    ]);
    expect(closedAfterMs).toBeLessThan(5000);
    if (text !== '') expect(errorBodyOf(text)).toMatchObject({ kind: 'Error', code: 'rh-trex-17' });
  });

  it('refuses headers over --http-header-limit with the Error body', async () => {
    const { text } = await exchange([
      `GET /api/rh-trex HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`,
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(errorBodyOf(text)).toMatchObject({
      kind: 'Error',
      code: 'rh-trex-17',
      reason: expect.stringMatching(/too large/),
    });
  });

  it('serves headers under the limit', async () => {
    const response = await service.api('/api/rh-trex', { headers: { 'x-fine': 'a'.repeat(1000) } });
    expect(response.status).toBe(200);
  });

  it('cuts off a client that never reads its response at --http-write-timeout, holding no database connection', async () => {
    // A page far bigger than the socket buffers of both ends: 6,000 dinosaurs of 4 kB each.
    await service.database.query(
      `insert into dinosaurs (id, species, created_at, updated_at)
       select 'stalled-' || n, repeat('x', 4000), now(), now() from generate_series(1, 6000) as n`,
    );
    const token = await service.keys.mint();
    const { hostname, port } = new URL(service.apiUrl);
    const socket: Socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    socket.on('error', () => {});
    socket.pause(); // never reads (a paused socket also sees no close until it reads again)
    socket.write(
      `GET /api/rh-trex/v1/dinosaurs?size=6000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    await new Promise((done) => setTimeout(done, 500));
    // The page was read and the connection went back to the pool before the response stalled.
    expect(await busyServiceConnections()).toBe(0);
    // Well past the write timeout (1.5 s of no progress), the client reads again:
    // what the buffers held, then the end of a connection the server cut off.
    await new Promise((done) => setTimeout(done, 4000));
    let received = 0;
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.resume();
    await closed;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(6000 * 4000);
  });

  it('holds no database connection while a client dribbles its body', async () => {
    const token = await service.keys.mint();
    const dribbling = exchange([
      `POST /api/rh-trex/v1/dinosaurs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 30\r\n\r\n',
      ...Array.from({ length: 8 }, (_, index) => [100, '{"species":"'.charAt(index) || ' ']).flat(),
    ]);
    await new Promise((done) => setTimeout(done, 400));
    expect(await busyServiceConnections()).toBe(0);
    const { text } = await dribbling;
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
  });
});

// The service's connections to its database that are running a statement or holding a transaction open.
async function busyServiceConnections(): Promise<number> {
  const [row] = await service.database.query<{ busy: string }>(
    `select count(*) as busy from pg_stat_activity
     where datname = current_database() and application_name = 'trex'
       and state in ('active', 'idle in transaction', 'idle in transaction (aborted)')`,
  );
  return Number(row?.busy);
}

describe('security headers', () => {
  it('come with every API answer, success or error', async () => {
    for (const path of [
      '/api/rh-trex',
      '/api/rh-trex/v1/dinosaurs',
      '/api/rh-trex/v1/dinosaurs/none',
      '/nowhere',
    ]) {
      const { headers } = await service.api(path);
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('x-frame-options'), path).toBe('DENY');
      expect(headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(headers.get('cache-control'), path).toBe('private, no-cache');
    }
  });
});
