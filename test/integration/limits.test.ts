import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { advisoryLockKey } from '../../src/db/advisory-lock.ts';
import { serviceForFile } from '../support/service.ts';

// The limits of the configuration (README.md, docs/operations.md#too-much-load): rh-trex parses
// --http-read-timeout and --http-write-timeout and ignores them; here they bound slow clients and idle
// connections.
const service = serviceForFile({
  httpReadTimeout: '1s',
  httpWriteTimeout: '1500ms',
  httpHeaderLimit: '2048',
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

  it('closes a connection whose response does not come within --http-write-timeout', async () => {
    const created = (
      await service.api('/api/rh-trex/v1/dinosaurs', { method: 'POST', body: { species: 'Slow' } })
    ).body;
    // Hold the row's lock elsewhere, so the PATCH waits, writing nothing, past the write timeout.
    const holder = new pg.Client(service.database.url);
    await holder.connect();
    await holder.query('begin');
    await holder.query(
      'select pg_advisory_xact_lock($1::int4, $2::int4)',
      advisoryLockKey('dinosaurs', created.id),
    );
    try {
      const token = await service.keys.mint();
      const body = '{"species":"Slower"}';
      const { text, closedAfterMs } = await exchange([
        `PATCH /api/rh-trex/v1/dinosaurs/${created.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ]);
      expect(text).toBe('');
      expect(closedAfterMs).toBeGreaterThanOrEqual(1400);
      expect(closedAfterMs).toBeLessThan(8000);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });
});

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
