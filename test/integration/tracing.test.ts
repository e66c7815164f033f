import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bindFlags, cleanEnvironment, exitWithin, startTrex, waitUntilServing } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { startTestService } from '../support/service.ts';

const collection = '/api/rh-trex/v1/dinosaurs';
const server = 2;
const internal = 1;
const client = 3;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver();
  cleanups.push(() => started.close());
  return started;
}

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanId && span.traceId === parent.traceId);
}

describe('tracing on (--enable-tracing)', () => {
  it('exports one trace per request: HTTP span, service span, SQL spans, linked and carrying the operation id', async () => {
    const otlp = await receiver();
    const service = await startTestService({ enableTracing: true, otlpEndpoint: otlp.url });
    const created = await service.api(collection, {
      method: 'POST',
      body: { species: 'Traced' },
      headers: { 'x-operation-id': 'op-create-1' },
    });
    expect(created.status).toBe(201);
    const missing = await service.api(`${collection}/nope`, {
      headers: { 'x-operation-id': 'op-missing-1' },
    });
    expect(missing.status).toBe(404);
    // A caller's W3C trace context is continued.
    const upstreamTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const upstreamSpan = '00f067aa0ba902b7';
    await service.api(collection, {
      headers: { traceparent: `00-${upstreamTrace}-${upstreamSpan}-01`, 'x-operation-id': 'op-list-1' },
    });
    await service.stop(); // flushes the batch of spans
    const spans = otlp.spans();
    expect(otlp.requests.every((request) => request.path === '/v1/traces')).toBe(true);

    // The create: POST span → Dinosaur.create → one statement writing the row and its event.
    const post = spans.find((span) => span.attributes.operation_id === 'op-create-1' && span.kind === server);
    expect(post).toMatchObject({
      name: `POST ${collection}`,
      parentSpanId: undefined,
      attributes: {
        'http.request.method': 'POST',
        'http.route': collection,
        'http.response.status_code': 201,
      },
      resource: { 'service.name': 'rh-trex' },
    });
    if (!post) throw new Error('no POST span');
    const [create] = childrenOf(spans, post);
    expect(create).toMatchObject({
      name: 'Dinosaur.create',
      kind: internal,
      attributes: { operation_id: 'op-create-1', 'trex.kind': 'Dinosaur' },
    });
    if (!create) throw new Error('no service span');
    const sql = childrenOf(spans, create);
    expect(sql.map((span) => span.name)).toContain('WITH');
    for (const span of sql) {
      expect(span).toMatchObject({ kind: client, attributes: { operation_id: 'op-create-1' } });
      expect(span.attributes['db.system.name']).toBe('postgresql');
    }
    // Values are bound parameters: the statement text never carries what the client sent.
    const insert = sql.find((span) => String(span.attributes['db.query.text']).includes('"dinosaurs"'));
    expect(String(insert?.attributes['db.query.text'])).toMatch(
      /insert into "dinosaurs".*insert into events/s,
    );
    expect(String(insert?.attributes['db.query.text'])).toContain('$1');
    expect(JSON.stringify(spans)).not.toContain('Traced');

    // A 404: the service span fails, the request span does not (a client error is not a server error).
    const get = spans.find((span) => span.attributes.operation_id === 'op-missing-1' && span.kind === server);
    if (!get) throw new Error('no GET span');
    expect(get).toMatchObject({
      name: `GET ${collection}/:id`,
      attributes: { 'http.response.status_code': 404 },
    });
    expect(get.statusCode ?? 0).not.toBe(2);
    const [lookup] = childrenOf(spans, get);
    expect(lookup).toMatchObject({
      name: 'Dinosaur.get',
      statusCode: 2,
      attributes: { 'trex.resource.id': 'nope' },
    });

    const list = spans.find((span) => span.attributes.operation_id === 'op-list-1' && span.kind === server);
    expect(list).toMatchObject({ traceId: upstreamTrace, parentSpanId: upstreamSpan });
    if (!list) throw new Error('no list span');
    const [listCall] = childrenOf(spans, list);
    expect(listCall?.name).toBe('Dinosaur.list');
    if (!listCall) throw new Error('no list service span');
    expect(childrenOf(spans, listCall).map((span) => span.name)).toEqual(['SELECT', 'SELECT']);

    // Work outside a request (health probes, controllers) starts no trace of its own: every span belongs to
    // one of the three requests.
    const requestTraces = new Set([post.traceId, get.traceId, list.traceId]);
    expect(spans.filter((span) => !requestTraces.has(span.traceId))).toEqual([]);
  });
});

describe('tracing a watch stream', () => {
  it('ends the span of a watch stream when its client leaves, with none of its polling inside', async () => {
    const otlp = await receiver();
    const service = await startTestService({ enableTracing: true, otlpEndpoint: otlp.url });
    const leave = new AbortController();
    const watch = await fetch(`${service.apiUrl}${collection}?watch=true`, {
      headers: { authorization: `Bearer ${await service.keys.mint()}`, 'x-operation-id': 'op-watch-1' },
      signal: leave.signal,
    });
    expect(watch.status).toBe(200);
    leave.abort();
    await watch.body?.cancel().catch(() => undefined);
    await service.stop();
    const spans = otlp.spans().filter((candidate) => candidate.attributes.operation_id === 'op-watch-1');
    expect(spans).toEqual([
      expect.objectContaining({
        name: `GET ${collection}`,
        kind: server,
        attributes: expect.objectContaining({ 'http.response.status_code': 200 }),
      }),
    ]);
  });
});

describe('tracing off (the default)', () => {
  const hook = fileURLToPath(new URL('../support/module-log-hook.mjs', import.meta.url));

  // `trex serve` in its own process, recording every module it resolves, serving one create.
  async function serveOneRequest(tracing: boolean, otlp: OtlpReceiver): Promise<string[]> {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const directory = mkdtempSync(join(tmpdir(), 'trex-tracing-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const moduleLog = join(directory, 'modules.log');
    const { args, apiUrl } = await bindFlags();
    const trex = startTrex(
      [
        'serve',
        `--db-url=${database.url}`,
        '--enable-jwt=false',
        `--otlp-endpoint=${otlp.url}`,
        ...(tracing ? ['--enable-tracing'] : []),
        ...args,
      ],
      {
        cwd: directory,
        env: cleanEnvironment({
          TREX_ENV: 'integration_testing',
          NODE_OPTIONS: `--import=${hook}`,
          TREX_TEST_MODULE_LOG: moduleLog,
        }),
      },
    );
    cleanups.push(() => trex.kill());
    await waitUntilServing(trex, apiUrl, 30_000);
    const created = await fetch(`${apiUrl}${collection}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ species: 'Untraced' }),
    });
    expect(created.status).toBe(201);
    trex.child.kill('SIGTERM');
    expect((await exitWithin(trex, 20_000)).code).toBe(0);
    return readFileSync(moduleLog, 'utf8').split('\n');
  }

  it('loads no OpenTelemetry module and exports nothing', async () => {
    const otlp = await receiver();
    const modules = await serveOneRequest(false, otlp);
    expect(modules.some((url) => url.includes('/node_modules/fastify/'))).toBe(true); // the log works
    expect(modules.filter((url) => url.includes('@opentelemetry'))).toEqual([]);
    expect(otlp.requests).toEqual([]);
  });

  it('the same process with --enable-tracing loads the SDK and exports (so the check above can fail)', async () => {
    const otlp = await receiver();
    const modules = await serveOneRequest(true, otlp);
    expect(modules.some((url) => url.includes('/node_modules/@opentelemetry/sdk-trace/'))).toBe(true);
    expect(otlp.spans().map((span) => span.name)).toContain(`POST ${collection}`);
  });
});
