import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bindFlags,
  cleanEnvironment,
  exitWithin,
  startTrex,
  type TrexProcess,
  waitUntilServing,
} from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

// Everything a test started, undone after it even when it failed (last registered first).
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A real `trex serve` on its own database and ephemeral ports, JWT off.
async function serve(): Promise<{ trex: TrexProcess; apiUrl: string }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const cwd = mkdtempSync(join(tmpdir(), 'trex-shutdown-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const { args, apiUrl } = await bindFlags();
  const trex = startTrex(['serve', '--db-url', database.url, '--enable-jwt=false', ...args], {
    cwd,
    env: cleanEnvironment({ TREX_ENV: 'integration_testing' }),
  });
  cleanups.push(() => trex.kill());
  await waitUntilServing(trex, apiUrl, 60_000);
  return { trex, apiUrl };
}

// SIGTERM, then the exit: 0 within 2 s (the shutdown timeout is 20 s), and no `shutdown timed out`.
async function expectPromptShutdown(trex: TrexProcess): Promise<void> {
  trex.child.kill('SIGTERM');
  const exit = await exitWithin(trex, 2_000).catch((error: Error) => error.message);
  const output = trex.stdout() + trex.stderr();
  expect(exit, output.split('\n').slice(-5).join('\n')).toEqual({ code: 0, signal: null });
  expect(output).not.toContain('shutdown timed out');
}

// An undici Agent (the client behind fetch) with one connection per origin: every request of a test
// goes over one kept-alive connection, as a client with a one-connection pool sends them. Node bundles
// undici without exporting it; the global dispatcher's class is its Agent.
async function oneConnectionClient(
  url: string,
): Promise<(path: string, init?: RequestInit) => Promise<Response>> {
  await fetch(url).then((response) => response.arrayBuffer()); // the global dispatcher exists from here
  const global = (globalThis as Record<symbol, object | undefined>)[Symbol.for('undici.globalDispatcher.1')];
  const Agent = global?.constructor as new (options: {
    connections: number;
  }) => object & {
    destroy(): Promise<void>;
  };
  const dispatcher = new Agent({ connections: 1 });
  cleanups.push(() => dispatcher.destroy());
  return (path, init = {}) => fetch(`${url}${path}`, { ...init, dispatcher } as RequestInit);
}

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('trex serve shutting down after a busy kept-alive client', () => {
  it('exits 0 at once after concurrent PATCHes, conditional requests, idempotent retries and aborted watches', async () => {
    const { trex, apiUrl } = await serve();
    const call = await oneConnectionClient(apiUrl);

    const created = await call(collection, json('POST', { species: 'Shutdownosaurus' }));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const item = `${collection}/${id}`;

    const patches = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        call(item, json('PATCH', { species: `Patched${n}` })).then((response) => response.status),
      ),
    );
    expect(patches).toEqual(Array(20).fill(200));
    const current = await call(item);
    await current.arrayBuffer();
    const etag = current.headers.get('etag') ?? '';
    const unchanged = await call(item, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);
    await unchanged.arrayBuffer();
    const stale = await call(item, json('PATCH', { species: 'Stale' }, { 'if-match': '"stale"' }));
    expect(stale.status).toBe(412);
    await stale.arrayBuffer();
    const matched = await call(item, json('PATCH', { species: 'Matched' }, { 'if-match': etag }));
    expect(matched.status).toBe(200);
    await matched.arrayBuffer();

    const retries = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(
          collection,
          json('POST', { species: 'Onceosaurus' }, { 'idempotency-key': 'shutdown-key' }),
        ).then(async (response) => ({
          status: response.status,
          id: ((await response.json()) as { id: string }).id,
        })),
      ),
    );
    expect(retries.map((retry) => retry.status)).toEqual(Array(5).fill(201));
    expect(new Set(retries.map((retry) => retry.id)).size).toBe(1);

    // Each watch is aborted once it has started. Afterwards undici opens the next connection ahead of
    // any request: at SIGTERM the server holds a connection that has sent nothing yet.
    for (let n = 0; n < 3; n++) {
      const abort = new AbortController();
      const watch = await call(`${collection}?watch=true`, { signal: abort.signal });
      expect(watch.status).toBe(200);
      const reader = watch.body?.getReader();
      await reader?.read();
      abort.abort();
      await reader?.read().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));

    await expectPromptShutdown(trex);
  }, 90_000);

  it('closes a connection that has sent nothing yet, and exits 0 at once', async () => {
    const { trex, apiUrl } = await serve();
    const { hostname, port } = new URL(apiUrl);
    const socket = connect({ host: hostname, port: Number(port) });
    cleanups.push(() => {
      socket.destroy();
    });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined); // the server may reset it

    await expectPromptShutdown(trex);
    await closed;
  }, 90_000);
});
