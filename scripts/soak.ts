// Soak test: mixed CRUD from many concurrent clients against `trex serve`, run as a process of its own so
// the load and the service do not share an event loop, then a consistency audit (scripts/soak-audit.ts).
// Usage: npm run soak [-- --duration SECONDS --clients N]; exits 1 when a request failed or the audit
// found anything. The database is a scratch one, dropped at the end, on the server of
// TREX_SOAK_DATABASE_URL, else TREX_TEST_DATABASE_URL, else an embedded PostgreSQL under .trex/soak-postgres.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { migrations } from '../src/app/migrations.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrator.ts';
import { openDatabase } from '../src/db/pool.ts';
import { audit, type ExpectedRow, waitingEvents } from './soak-audit.ts';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '60' }, clients: { type: 'string', default: '64' } },
});
const seconds = Number(values.duration);
const clients = Number(values.clients);
if (!(seconds > 0) || !Number.isInteger(clients) || clients < 1) {
  console.error('usage: tsx scripts/soak.ts [--duration SECONDS] [--clients N]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const logger = pino({ level: 'warn' });

// --- Requests and their record -------------------------------------------------------------------------

type Op = 'create' | 'create-retry' | 'get' | 'list' | 'patch' | 'delete';
const ops: Op[] = ['create', 'create-retry', 'get', 'list', 'patch', 'delete'];
const stats = new Map(ops.map((op) => [op, { statuses: new Map<string, number>(), ms: [] as number[] }]));
const failures: string[] = [];
const expected = new Map<string, ExpectedRow>(); // every id a client got a 201 for
let base = '';

interface Reply {
  status: number | 'error';
  body: Record<string, unknown> | undefined;
}

// One request: its status counted under its operation, a failure when the status is not `want`.
async function call(op: Op, method: string, path: string, want: number, body?: unknown, headers = {}) {
  const started = performance.now();
  const reply: Reply = { status: 'error', body: undefined };
  let detail = '';
  try {
    const response = await fetch(base + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    reply.status = response.status;
    detail = text.slice(0, 200);
    reply.body = text ? JSON.parse(text) : undefined;
  } catch (error) {
    if (reply.status === 'error')
      detail = error instanceof Error ? `${error.message} ${error.cause ?? ''}` : '';
  }
  const entry = stats.get(op);
  entry?.ms.push(performance.now() - started);
  entry?.statuses.set(String(reply.status), (entry.statuses.get(String(reply.status)) ?? 0) + 1);
  if (reply.status !== want)
    failures.push(`${op} ${method} ${path}: ${reply.status}, want ${want} ${detail}`);
  return reply;
}

// --- The clients ---------------------------------------------------------------------------------------

const collection = '/api/rh-trex/v1/dinosaurs';
const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(Math.random() * list.length)];

// One client: creates rows of its own and gets, lists, patches and deletes them until `until()` is false.
async function client(n: number, until: () => boolean): Promise<void> {
  const mine: string[] = [];
  const live: string[] = [];
  let counter = 0;
  while (until()) {
    const roll = Math.random();
    const id = pick(live);
    const row = id === undefined ? undefined : expected.get(id);
    if (id === undefined || row === undefined || roll < 0.25) {
      // Create; a quarter with an Idempotency-Key, retried at once or concurrently: one id for both.
      const species = `c${n}-${counter++}`;
      const key = Math.random() < 0.25 ? { 'idempotency-key': `soak-${n}-${counter}` } : undefined;
      const post = (op: Op) => call(op, 'POST', collection, 201, { species }, key);
      const replies = !key
        ? [await post('create')]
        : Math.random() < 0.5
          ? await Promise.all([post('create'), post('create-retry')])
          : [await post('create'), await post('create-retry')];
      const ids = new Set(replies.filter((r) => r.status === 201).map((r) => String(r.body?.id)));
      if (ids.size > 1) failures.push(`create: one Idempotency-Key, ${ids.size} ids: ${[...ids].join(', ')}`);
      for (const created of ids) {
        expected.set(created, { species, deleted: false, updates: 0 });
        mine.push(created);
        live.push(created);
      }
    } else if (roll < 0.5) {
      const any = pick(mine) ?? id;
      const target = expected.get(any) ?? row;
      const reply = await call('get', 'GET', `${collection}/${any}`, target.deleted ? 404 : 200);
      if (reply.status === 200 && reply.body?.species !== target.species) {
        failures.push(`get ${any}: species '${reply.body?.species}', last written '${target.species}'`);
      }
    } else if (roll < 0.65) {
      const search = Math.random() < 0.5 ? `&search=${encodeURIComponent(`species = '${row.species}'`)}` : '';
      await call(
        'list',
        'GET',
        `${collection}?page=${1 + Math.floor(Math.random() * 3)}&size=20${search}`,
        200,
      );
    } else if (roll < 0.9) {
      // A fifth of the patches change nothing, and so must write no event.
      const species = Math.random() < 0.2 ? row.species : `c${n}-${counter++}`;
      const reply = await call('patch', 'PATCH', `${collection}/${id}`, 200, { species });
      if (reply.status === 200 && species !== row.species) {
        row.species = species;
        row.updates++;
      }
    } else {
      const reply = await call('delete', 'DELETE', `${collection}/${id}`, 204);
      if (reply.status === 204) {
        row.deleted = true;
        live.splice(live.indexOf(id), 1);
      }
    }
  }
}

// --- The service, its database and the run ---------------------------------------------------------------

const serverEnv = process.env.TREX_SOAK_DATABASE_URL ?? process.env.TREX_TEST_DATABASE_URL;
const embedded = serverEnv ? undefined : await startEmbeddedPostgres(`${root}/.trex/soak-postgres`, logger);
const serverUrl = serverEnv ?? embedded?.url ?? '';
const database = `trex_soak_${process.pid}`;
const url = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString();
let exitCode = 1;
await admin(`create database ${database}`);
try {
  const setup = openDatabase({ url, maxConnections: 1, acquireTimeoutMs: 10_000, debug: false }, logger);
  await migrateToLatest(setup.db, migrations).finally(() => setup.close());

  const logFile = `${root}/.trex/soak-service.log`;
  const service = await startTrex(url, logFile);
  let findings = 0;
  const auditLines: string[] = [];
  try {
    console.log(`soak: ${clients} clients for ${seconds} s against ${base} (service log: ${logFile})`);
    const started = Date.now();
    let stopAt = started + seconds * 1000;
    process.once('SIGINT', () => {
      stopAt = 0; // Ctrl-C ends the load early; the audit and the clean-up still run
    });
    const total = (): number => [...stats.values()].reduce((sum, s) => sum + s.ms.length, 0);
    let last = 0;
    const monitor = new pg.Client(url);
    await monitor.connect();
    const progress = setInterval(async () => {
      const now = total();
      const elapsed = Math.round((Date.now() - started) / 1000);
      const { rows } = await monitor.query(waitingEvents).catch(() => ({ rows: [{ n: '?' }] }));
      console.log(
        `[${elapsed} s] ${now} requests (${(now - last) / 10}/s), ${failures.length} failed, ${rows[0]?.n} events waiting`,
      );
      last = now;
    }, 10_000);
    await Promise.all(Array.from({ length: clients }, (_, n) => client(n, () => Date.now() < stopAt)));
    clearInterval(progress);
    await monitor.end();
    report((Date.now() - started) / 1000);

    const result = await audit(url, expected, 20_000);
    auditLines.push(...result.lines);
    findings += result.findings;
  } finally {
    const code = await stopTrex(service);
    auditLines.push(`${code === 0 ? 'ok  ' : 'FAIL'}  the service stopped on SIGTERM with exit code ${code}`);
    if (code !== 0) findings++;
  }
  console.log(`\naudit:\n${auditLines.join('\n')}`);
  if (failures.length > 0)
    console.log(`\nfailed requests (first 10 of ${failures.length}):\n${failures.slice(0, 10).join('\n')}`);
  exitCode = failures.length === 0 && findings === 0 ? 0 : 1;
  console.log(
    `\nsoak ${exitCode === 0 ? 'passed' : 'FAILED'}: ${failures.length} failed requests, ${findings} audit findings`,
  );
} finally {
  await admin(`drop database if exists ${database} with (force)`);
  await embedded?.stop();
}
process.exit(exitCode);

function report(elapsed: number): void {
  const statuses = [...new Set([...stats.values()].flatMap((s) => [...s.statuses.keys()]))].sort();
  const pct = (ms: number[], p: number): string =>
    (ms.sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(ms.length * p))] ?? 0).toFixed(1);
  const table = [['operation', 'requests', ...statuses, 'p50 ms', 'p99 ms']];
  for (const [op, s] of stats) {
    table.push([
      op,
      String(s.ms.length),
      ...statuses.map((k) => String(s.statuses.get(k) ?? '')),
      pct(s.ms, 0.5),
      pct(s.ms, 0.99),
    ]);
  }
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => r[i]?.length ?? 0))) ?? [];
  console.log(
    `\n${table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n')}`,
  );
  const count = [...stats.values()].reduce((sum, s) => sum + s.ms.length, 0);
  console.log(
    `${count} requests in ${elapsed.toFixed(1)} s: ${(count / elapsed).toFixed(0)}/s, ${failures.length} failed`,
  );
}

// `trex serve` on free ports, its output in `logFile`; resolves once the API answers.
async function startTrex(dbUrl: string, logFile: string): Promise<ChildProcess> {
  const [api, health, metrics] = [await freePort(), await freePort(), await freePort()];
  mkdirSync(`${root}/.trex`, { recursive: true });
  const log = openSync(logFile, 'w');
  // A process group of its own, so a Ctrl-C of the soak reaches the service only through stopTrex.
  const child = spawn(
    process.execPath,
    [
      'bin/trex.js',
      'serve',
      `--db-url=${dbUrl}`,
      '--enable-jwt=false',
      `--api-server-bindaddress=127.0.0.1:${api}`,
      `--health-check-server-bindaddress=127.0.0.1:${health}`,
      `--metrics-server-bindaddress=127.0.0.1:${metrics}`,
    ],
    { cwd: root, stdio: ['ignore', log, log], detached: true },
  );
  base = `http://127.0.0.1:${api}`;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`trex serve exited with ${child.exitCode}; see ${logFile}`);
    const up = await fetch(`${base}/api/rh-trex`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`trex serve did not answer within 30 s; see ${logFile}`);
}

// SIGTERM, then the exit code (SIGKILL and -1 when it does not stop within 30 s).
async function stopTrex(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client(serverUrl);
  await client.connect();
  await client.query(statement).finally(() => client.end());
}
