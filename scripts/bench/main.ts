// `npm run bench [-- --seconds 10 --out FILE --only NAME --profile DIR]`: TRex under load next to a bare
// Fastify + pg server doing the same SQL on the same database, in one run; figures as ratios to that
// baseline (docs/performance.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { benchCredentials } from './auth.ts';
import { openBenchDatabase, seed, seededId, seededRows } from './database.ts';
import { measureInTurns } from './load.ts';
import { freePort, type ServerProcess, startServer } from './processes.ts';
import { printReport, type Report } from './report.ts';
import { paceCreates, type Target, workloads } from './workloads.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
    // Only the workloads whose name contains this ('event latency' is one; the backlog is then left out).
    only: { type: 'string' },
    // Each server writes a CPU profile (.cpuprofile, for Chrome DevTools or speedscope) when it stops:
    // TRex under DIR/trex, the baseline under DIR/bare.
    profile: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const logger = pino({ level: 'warn' });
const scratch = mkdtempSync(join(tmpdir(), 'trex-bench-'));
const database = await openBenchDatabase(logger);
const servers: ServerProcess[] = [];

try {
  await seed(database);
  const token = await benchCredentials(join(scratch, 'jwks.json'));
  const trexPort = await freePort();
  const metricsPort = await freePort();
  const trex = await startServer(
    [...profiling('trex'), 'bin/trex.js', 'serve'],
    {
      TREX_ENV: 'production',
      TREX_DB_URL: database.url,
      TREX_ENABLE_JWT: 'true',
      TREX_JWK_CERT_FILE: join(scratch, 'jwks.json'),
      TREX_API_SERVER_BINDADDRESS: `127.0.0.1:${trexPort}`,
      TREX_METRICS_SERVER_BINDADDRESS: `127.0.0.1:${metricsPort}`,
      TREX_HEALTH_CHECK_SERVER_BINDADDRESS: `127.0.0.1:${await freePort()}`,
      TREX_LOG_LEVEL: 'info',
      // As the baseline's pool: the two servers, the controllers and this process stay well within a
      // server's default 100 connections, even when other clients share it.
      TREX_DB_MAX_OPEN_CONNECTIONS: '20',
    },
    /"msg":"serving"/,
  );
  servers.push(trex);
  const barePort = await freePort();
  const bare = await startServer(
    [...profiling('bare'), '--import', 'tsx', 'scripts/bench/bare-server.ts'],
    { BENCH_DATABASE_URL: database.url, BENCH_PORT: String(barePort) },
    /ready/,
  );
  servers.push(bare);

  const trexTarget: Target = {
    url: `http://127.0.0.1:${trexPort}`,
    prefix: '/api/rh-trex/v1',
    headers: { authorization: `Bearer ${token}` },
  };
  const bareTarget: Target = { url: `http://127.0.0.1:${barePort}`, prefix: '', headers: {} };

  // First, while no backlog of events from the write workloads is waiting ahead of these.
  const only = values.only;
  const picked = (name: string): boolean => !only || name.includes(only);
  if (picked('event latency')) process.stderr.write('bench: event latency\n');
  const eventLatency = picked('event latency') ? await measureEventLatency(trexTarget, seconds) : undefined;

  const rows: Report['workloads'][number][] = [];
  let heapMb = 0;
  for (const workload of workloads.filter(({ name }) => picked(name))) {
    process.stderr.write(`bench: ${workload.name}\n`);
    const [measured, baseline] = await measureInTurns(
      [
        { options: workload.load(trexTarget), server: trex },
        ...(workload.baseline ? [{ options: workload.load(bareTarget), server: bare }] : []),
      ],
      seconds,
    );
    if (!measured) throw new Error(`no figures for ${workload.name}`);
    heapMb = Math.max(heapMb, await heapSizeMb(metricsPort));
    const { name, minimumRatio, maximumP99Ratio } = workload;
    rows.push({ name, trex: measured, baseline, minimumRatio, maximumP99Ratio });
  }

  process.stderr.write('bench: raw pg\n');
  const rawQueriesPerSecond = await rawQueryRate(database.url, seconds);
  if (!only) process.stderr.write('bench: controllers draining the backlog\n');
  const backlog = only ? undefined : await measureDrain(seconds);

  const report: Report = {
    machine: machineDescription(),
    seconds,
    workloads: rows,
    rawQueriesPerSecond,
    eventLatency,
    backlog,
    rssMb: trex.peakRssMb(),
    heapMb,
  };
  printReport(report);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()));
  await database.drop();
  rmSync(scratch, { recursive: true, force: true });
}

// The V8 heap's size (nodejs_heap_size_total_bytes) as TRex's metrics server reports it.
async function heapSizeMb(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const bytes = Number(/^nodejs_heap_size_total_bytes (\S+)$/m.exec(text)?.[1] ?? 0);
  return Math.round(bytes / 2 ** 20);
}

function profiling(server: string): string[] {
  return values.profile ? ['--cpu-prof', '--cpu-prof-dir', join(values.profile, server)] : [];
}

// Reads by primary key straight through a pg pool of 16 in this process: the ceiling any HTTP
// server on this machine and database works under.
async function rawQueryRate(url: string, duration: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const endAt = Date.now() + duration * 1000;
  let queries = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const id = seededId(1 + Math.floor(Math.random() * seededRows));
      await pool.query('select * from dinosaurs where id = $1 and deleted_at is null', [id]);
      queries++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await pool.end();
  return Math.round(queries / duration);
}

// Creates paced at 100 per second; then, once their events are handled, the time from each event's
// creation to its handling, as the events table records them. Two seconds of the same go first, their
// events left out: the first creates of a fresh process open its pool's connections and compile its code.
async function measureEventLatency(target: Target, duration: number): Promise<Report['eventLatency']> {
  const perSecond = 100;
  await paceCreates(target, perSecond, Math.min(2, duration));
  await allHandled(new Date(0));
  const [{ started }] = (await database.query<{ started: Date }>('select now() as started')) as [
    { started: Date },
  ];
  const createErrors = await paceCreates(target, perSecond, duration);
  await allHandled(started);
  const [latency] = await database.query<{ p50: number; p99: number; events: number; unhandled: number }>(
    `select
       percentile_cont(0.5) within group (order by extract(epoch from reconciled_date - created_at) * 1000) as p50,
       percentile_cont(0.99) within group (order by extract(epoch from reconciled_date - created_at) * 1000) as p99,
       count(*)::int as events, count(*) filter (where reconciled_date is null)::int as unhandled
     from events where created_at >= $1`,
    [started],
  );
  return {
    perSecond,
    createErrors,
    events: latency?.events ?? 0,
    unhandled: latency?.unhandled ?? 0,
    p50Ms: Math.round(latency?.p50 ?? 0),
    p99Ms: Math.round(latency?.p99 ?? 0),
  };
}

// Waits (a minute at most) until every event written since `since` is handled.
async function allHandled(since: Date): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [row] = await database.query<{ waiting: number }>(
      `select count(*)::int as waiting from events where created_at >= $1 and reconciled_date is null`,
      [since],
    );
    if (row?.waiting === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// The events the write workloads left unhandled, and how fast the controllers handle them with no
// requests coming in.
async function measureDrain(duration: number): Promise<Report['backlog']> {
  const waiting = async (): Promise<number> =>
    (
      await database.query<{ n: number }>(
        'select count(*)::int as n from events where reconciled_date is null and failed_at is null',
      )
    )[0]?.n ?? 0;
  const before = await waiting();
  await new Promise((resolve) => setTimeout(resolve, duration * 1000));
  const after = await waiting();
  return { waitingAfterLoad: before, handledPerSecond: Math.round((before - after) / duration) };
}

function machineDescription(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
