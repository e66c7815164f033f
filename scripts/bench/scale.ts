// `npm run bench:scale [-- --rows 1000000 --events 5000000 --seconds 10 --out FILE]`: lists, searches
// and paging over a big table (docs/performance.md#big-tables). Seeds the dinosaurs and events by SQL,
// then measures each request one at a time (latency) and at 16 clients (throughput), against a `trex
// serve` with authentication off, and prints each next to its target.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { cursorAfter, orderKeys } from '../../src/kinds/framework/cursor.ts';
import { type BenchDatabase, openBenchDatabase } from './database.ts';
import { machine } from './machine.ts';
import { startTrex } from './trex-process.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    events: { type: 'string', default: '5000000' },
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
const rows = Number(values.rows);
const eventRows = Number(values.events);
const seconds = Number(values.seconds);
const species = 1000; // each species names rows / 1000 dinosaurs
const clients = 16;
const sequential = 200; // requests timed one at a time, after 5 unmeasured: the p99 is the second slowest

interface Workload {
  readonly name: string;
  readonly path: string;
  readonly p99TargetMs?: number; // one at a time
  readonly rateTarget?: number; // requests per second at 16 clients
  readonly concurrent: boolean; // also measured at 16 clients
}

interface Figures {
  readonly name: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p99TargetMs: number | undefined;
  readonly perSecond: number | undefined;
  readonly rateTarget: number | undefined;
  readonly concurrentP50Ms: number | undefined;
  readonly errors: number;
}

const logger = pino({ level: 'warn' });
const database = await openBenchDatabase(logger);
try {
  const seeded = await seed(database);
  const trex = await startTrex(database.url, {
    TREX_ENABLE_JWT: 'false',
    TREX_DB_MAX_OPEN_CONNECTIONS: '20',
  });
  try {
    const figures: Figures[] = [];
    for (const workload of await workloadsOf(database)) {
      process.stderr.write(`bench:scale: ${workload.name}\n`);
      figures.push(await measure(trex.url, workload));
    }
    const report = { machine: machine(), rows, events: eventRows, seeding: seeded, seconds, figures };
    print(report);
    if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await trex.server.stop();
  }
} finally {
  await database.drop();
}

// The dinosaurs over `species` species (`species 0` ...), and events of them, reconciled; written by SQL,
// then vacuumed (an index-only count needs the visibility map) and analyzed, as autovacuum would.
async function seed(bench: BenchDatabase): Promise<{ seconds: number }> {
  const started = Date.now();
  process.stderr.write(`bench:scale: seeding ${rows} dinosaurs and ${eventRows} events\n`);
  await bench.query(
    `insert into dinosaurs (id, species, created_at, updated_at)
     select 'scale-d-' || lpad(n::text, 8, '0'), 'species ' || (n % ${species}),
       timestamptz '2020-01-01' + n * interval '1 second', now()
     from generate_series(1, ${rows}) as n`,
  );
  await bench.query(
    `insert into events (id, source, source_id, event_type, created_at, updated_at, reconciled_date)
     select 'scale-e-' || lpad(n::text, 9, '0'), 'Dinosaurs', 'scale-d-' || lpad((1 + n % ${rows})::text, 8, '0'),
       (array['Create', 'Update', 'Delete'])[1 + n % 3], timestamptz '2020-01-01' + n * interval '100 milliseconds',
       now(), now()
     from generate_series(1, ${eventRows}) as n`,
  );
  await bench.query('vacuum analyze dinosaurs');
  await bench.query('vacuum analyze events');
  return { seconds: Math.round((Date.now() - started) / 1000) };
}

async function workloadsOf(bench: BenchDatabase): Promise<Workload[]> {
  const dinosaurs = '/api/rh-trex/v1/dinosaurs';
  const events = '/api/rh-trex/v1/events';
  const search = (text: string): string => `search=${encodeURIComponent(text)}`;
  const deep = Math.min(5000, Math.floor(rows / 100)); // the page number of the deep page
  const eventsDeep = Math.min(10_000, Math.floor(eventRows / 100));
  return [
    {
      name: 'first page of 100',
      path: `${dinosaurs}?size=100`,
      p99TargetMs: 50,
      rateTarget: 300,
      concurrent: true,
    },
    {
      name: 'search on an indexed field (=)',
      path: `${dinosaurs}?size=100&${search("species = 'species 42'")}`,
      p99TargetMs: 50,
      rateTarget: 300,
      concurrent: true,
    },
    {
      name: "prefix like ('species 42%')",
      path: `${dinosaurs}?size=100&${search("species like 'species 42%'")}`,
      p99TargetMs: 50,
      rateTarget: 300,
      concurrent: true,
    },
    {
      name: 'orderBy=species',
      path: `${dinosaurs}?size=100&orderBy=species`,
      p99TargetMs: 50,
      rateTarget: 300,
      concurrent: true,
    },
    { name: `page ${deep} by offset`, path: `${dinosaurs}?size=100&page=${deep}`, concurrent: false },
    {
      name: `page ${deep} by cursor`,
      path: `${dinosaurs}?size=100&cursor=${await cursorAt(bench, 'dinosaurs', (deep - 1) * 100 - 1)}`,
      p99TargetMs: 50,
      concurrent: false,
    },
    {
      name: 'events: first page of 100',
      path: `${events}?size=100`,
      p99TargetMs: 50,
      rateTarget: 300,
      concurrent: true,
    },
    {
      name: "events: search source_id = '...'",
      path: `${events}?${search("source_id = 'scale-d-00000042'")}`,
      p99TargetMs: 10,
      concurrent: false,
    },
    {
      name: `events: page ${eventsDeep} by offset`,
      path: `${events}?size=100&page=${eventsDeep}`,
      concurrent: false,
    },
    {
      name: `events: page ${eventsDeep} by cursor`,
      path: `${events}?size=100&cursor=${await cursorAt(bench, 'events', (eventsDeep - 1) * 100 - 1)}`,
      p99TargetMs: 50,
      concurrent: false,
    },
  ];
}

// The cursor the service gives after the row at `offset` in the default order (created_at, id).
async function cursorAt(bench: BenchDatabase, table: string, offset: number): Promise<string> {
  const [row] = await bench.query<{ id: string; created_at: Date }>(
    `select id, created_at from ${table} where deleted_at is null order by created_at, id offset $1 limit 1`,
    [offset],
  );
  if (!row) throw new Error(`no row at offset ${offset} of ${table}`);
  return cursorAfter(orderKeys(table, []), { ...row, updated_at: row.created_at, deleted_at: null });
}

async function measure(url: string, workload: Workload): Promise<Figures> {
  const timings: number[] = [];
  let errors = 0;
  for (let index = 0; index < sequential + 5; index++) {
    const started = performance.now();
    const response = await fetch(`${url}${workload.path}`);
    await response.arrayBuffer();
    if (response.status !== 200) errors++;
    if (index >= 5) timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  const at = (quantile: number): number =>
    round(timings[Math.min(timings.length - 1, Math.floor(quantile * timings.length))] ?? 0);
  let perSecond: number | undefined;
  let concurrentP50Ms: number | undefined;
  if (workload.concurrent) {
    const result = await autocannon({
      url: `${url}${workload.path}`,
      connections: clients,
      duration: seconds,
    });
    perSecond = Math.round(result.requests.total / result.duration);
    concurrentP50Ms = result.latency.p50;
    errors += result.errors + result.timeouts + result.non2xx;
  }
  return {
    name: workload.name,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p99TargetMs: workload.p99TargetMs,
    perSecond,
    rateTarget: workload.rateTarget,
    concurrentP50Ms,
    errors,
  };
}

function print(report: { machine: string; seeding: { seconds: number }; figures: readonly Figures[] }): void {
  const lines = [
    `${report.machine}; ${rows} dinosaurs, ${eventRows} events (seeded in ${report.seeding.seconds} s)`,
    '| request | p50 one at a time | p99 one at a time (target) | 16 clients (target) | p50 at 16 | errors |',
    '| --- | --- | --- | --- | --- | --- |',
    ...report.figures.map((figure) => {
      const target = (value: number | undefined, unit: string, met: boolean) =>
        value === undefined
          ? ''
          : ` (${unit === 'ms' ? '≤' : '≥'} ${value}${unit === 'ms' ? ' ms' : ''}: ${met ? 'met' : 'missed'})`;
      const p99 = `${figure.p99Ms} ms${target(figure.p99TargetMs, 'ms', figure.p99Ms <= (figure.p99TargetMs ?? Infinity))}`;
      const rate =
        figure.perSecond === undefined
          ? ''
          : `${figure.perSecond} req/s${target(figure.rateTarget, 'req/s', figure.perSecond >= (figure.rateTarget ?? 0))}`;
      const concurrentP50 = figure.concurrentP50Ms === undefined ? '' : `${figure.concurrentP50Ms} ms`;
      return `| ${figure.name} | ${figure.p50Ms} ms | ${p99} | ${rate} | ${concurrentP50} | ${figure.errors} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
