// `npm run bench [-- --seconds 10 --out FILE --only NAME --profile DIR --gc --idle-controllers --worker --trex-env K=V]`: TRex under load next to a bare
// Fastify + pg server doing the same SQL on the same database, in one run; then the event pipeline next
// to graphile-worker draining the same backlog; then reads without and with tenancy; figures as ratios
// to those baselines (docs/performance.md).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { benchCredentials } from './auth.ts';
import { backlogProbe, quietTurns } from './backlog.ts';
import { openBenchDatabase, seed, seededId, seededRows } from './database.ts';
import { measureEventLatency } from './event-latency.ts';
import { measureInTurns } from './load.ts';
import { machine } from './machine.ts';
import { measurePipeline } from './pipeline.ts';
import { freePort, type ServerProcess, startServer } from './processes.ts';
import { printReport, type Report } from './report.ts';
import { measureTenancy } from './tenancy.ts';
import { startTrex } from './trex-process.ts';
import { type Target, workloads } from './workloads.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
    // Only the workloads and sections whose name contains this, or the one named exactly so: 'event
    // latency', 'pipeline' and 'tenancy' are sections.
    only: { type: 'string' },
    // Each server writes a CPU profile (.cpuprofile, for Chrome DevTools or speedscope) when it stops:
    // TRex under DIR/trex, the baseline under DIR/bare.
    profile: { type: 'string' },
    // Both servers run with V8's trace of each garbage collection: the table adds the kilobytes each
    // allocated per request and the share of its CPU time spent in collection pauses.
    gc: { type: 'boolean', default: false },
    // TRex's controllers left idle (no NOTIFY, a resync an hour apart), the events piling up: the request
    // path alone. Turns then do not wait for the controllers, and the event latency is not measured.
    'idle-controllers': { type: 'boolean', default: false },
    // TRex as a deployment that splits its roles runs: a process of the api role under load, and the
    // events handled by a worker beside it. TRex's CPU per request counts both processes.
    worker: { type: 'boolean', default: false },
    // KEY=VALUE added to TRex's environment, for experiments: NODE_OPTIONS=... sets V8's flags.
    'trex-env': { type: 'string', multiple: true, default: [] },
  },
});
const seconds = Number(values.seconds);
const idleControllers = values['idle-controllers'] === true;
const only = values.only;
// A workload named exactly so is picked alone ('create' without the k6 mix, which names it too).
const exact = only !== undefined && workloads.some(({ name }) => name === only);
const picked = (name: string): boolean => !only || (exact ? name === only : name.includes(only));
const logger = pino({ level: 'warn' });
const scratch = mkdtempSync(join(tmpdir(), 'trex-bench-'));
const database = await openBenchDatabase(logger);
const servers: ServerProcess[] = [];

try {
  await seed(database);
  const httpWorkloads = workloads.filter(({ name }) => picked(name));
  const http = httpWorkloads.length > 0 || picked('event latency') ? await measureHttp() : undefined;
  const { rows, ...httpFigures } = http ?? { rows: [], rawQueriesPerSecond: await rawQueryRate() };
  if (picked('pipeline')) process.stderr.write('bench: event pipeline against graphile-worker\n');
  // The HTTP servers are stopped by now: their controllers would take the pipeline's events too.
  const pipeline = picked('pipeline') ? await measurePipeline(database) : undefined;
  const tenancy = picked('tenancy') ? await measureTenancy(database, scratch, seconds) : undefined;

  const report: Report = {
    machine: machine(),
    seconds,
    workloads: rows,
    ...httpFigures,
    pipeline,
    tenancy,
  };
  printReport(report);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()));
  await database.drop();
  rmSync(scratch, { recursive: true, force: true });
}

// The HTTP workloads against TRex and the bare server, the event latency and backlogs; both servers
// are stopped at the end.
async function measureHttp(): Promise<
  Pick<Report, 'rawQueriesPerSecond' | 'eventLatency' | 'createBacklog' | 'backlog' | 'rssMb' | 'heapMb'> & {
    rows: Report['workloads'][number][];
  }
> {
  const token = await benchCredentials(join(scratch, 'jwks.json'));
  const trexSettings = {
    TREX_ENABLE_JWT: 'true',
    TREX_JWK_CERT_FILE: join(scratch, 'jwks.json'),
    // As the baseline's pool: the two servers, the controllers and this process stay well within a
    // server's default 100 connections, even when other clients share it.
    TREX_DB_MAX_OPEN_CONNECTIONS: '20',
    ...(idleControllers ? { TREX_ENABLE_EVENT_NOTIFY: 'false', TREX_EVENT_RESYNC_INTERVAL: '1h' } : {}),
    ...trexEnv(),
  };
  const trex = await startTrex(
    database.url,
    { ...trexSettings, ...(values.worker ? { TREX_ROLE: 'api' } : {}) },
    profiling('trex'),
  );
  servers.push(trex.server);
  const worker = values.worker
    ? (await startTrex(database.url, { ...trexSettings, TREX_ROLE: 'worker' }, profiling('trex-worker')))
        .server
    : undefined;
  if (worker) servers.push(worker);
  // Whose CPU a TRex request costs: with a worker, both processes'.
  const trexCost: Pick<ServerProcess, 'cpuSeconds' | 'gc'> = worker
    ? { cpuSeconds: () => trex.server.cpuSeconds() + worker.cpuSeconds(), gc: () => trex.server.gc() }
    : trex.server;
  const barePort = await freePort();
  const bare = await startServer(
    [...profiling('bare'), '--import', 'tsx', 'scripts/bench/bare-server.ts'],
    { BENCH_DATABASE_URL: database.url, BENCH_PORT: String(barePort) },
    /ready/,
  );
  servers.push(bare);
  const trexTarget: Target = {
    url: trex.url,
    prefix: '/api/rh-trex/v1',
    headers: { authorization: `Bearer ${token}` },
  };
  const bareTarget: Target = { url: `http://127.0.0.1:${barePort}`, prefix: '', headers: {} };

  // First, while no backlog of events from the write workloads is waiting ahead of these.
  const latency = picked('event latency') && !idleControllers;
  if (latency) process.stderr.write('bench: event latency\n');
  const eventLatency = latency ? await measureEventLatency(database, trexTarget, seconds) : undefined;

  const rows: Report['workloads'][number][] = [];
  let createBacklog: Report['createBacklog'];
  let heapMb = 0;
  const quiet = quietTurns(database, !idleControllers);
  for (const workload of workloads.filter(({ name }) => picked(name))) {
    process.stderr.write(`bench: ${workload.name}\n`);
    const probe = workload.name === 'create' ? await backlogProbe(database) : undefined;
    const trexTurns = {
      turnStarting: async () => {
        await quiet.wait();
        await probe?.turns.turnStarting?.();
      },
      ...(probe?.turns.turnEnded ? { turnEnded: probe.turns.turnEnded } : {}),
    };
    const [measured, baseline] = await measureInTurns(
      [
        { options: workload.load(trexTarget), server: trexCost, ...trexTurns },
        ...(workload.baseline
          ? [{ options: workload.load(bareTarget), server: bare, turnStarting: quiet.wait }]
          : []),
      ],
      seconds,
    );
    if (!measured) throw new Error(`no figures for ${workload.name}`);
    heapMb = Math.max(heapMb, await heapSizeMb(trex.metricsPort));
    createBacklog = probe ? probe.result(measured.requestsPerSecond) : createBacklog;
    const { name, minimumRatio, maximumP99Ratio } = workload;
    rows.push({ name, trex: measured, baseline, minimumRatio, maximumP99Ratio });
  }

  const rawQueriesPerSecond = await rawQueryRate();
  const backlog = quiet.drained();
  const rssMb = trex.server.peakRssMb();
  if (worker) process.stderr.write(`bench: the worker's peak RSS ${worker.peakRssMb().toFixed(1)} MB\n`);
  await Promise.all([trex.server.stop(), bare.stop(), worker?.stop()]);
  return { rows, rawQueriesPerSecond, eventLatency, createBacklog, backlog, rssMb, heapMb };
}

// The V8 heap's size (nodejs_heap_size_total_bytes) as TRex's metrics server reports it.
async function heapSizeMb(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const bytes = Number(/^nodejs_heap_size_total_bytes (\S+)$/m.exec(text)?.[1] ?? 0);
  return Math.round(bytes / 2 ** 20);
}

function trexEnv(): Record<string, string> {
  return Object.fromEntries(
    (values['trex-env'] ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--trex-env takes KEY=VALUE, not '${pair}'`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

function profiling(server: string): string[] {
  return [
    ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', join(values.profile, server)] : []),
    ...(values.gc ? ['--trace-gc-nvp'] : []),
  ];
}

// Reads by primary key straight through a pg pool of 16 in this process: the ceiling any HTTP
// server on this machine and database works under.
async function rawQueryRate(): Promise<number> {
  process.stderr.write('bench: raw pg\n');
  const pool = new pg.Pool({ connectionString: database.url, max: 16 });
  const endAt = Date.now() + seconds * 1000;
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
  return Math.round(queries / seconds);
}
