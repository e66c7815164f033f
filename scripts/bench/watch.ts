// `npm run bench:watch [-- --streams 1000 --rate 20 --seconds 15 --out FILE --only NAME --profile DIR]`:
// watch streams at scale
// (docs/performance.md#watch-streams). A `trex serve` (authentication off, a new one for each row) takes
// paced creates while this process holds watch streams open on it: none, one, then `--streams` with no search, with 100
// distinct searches and with as many distinct searches as streams (create n has the species
// `watch (n mod searches)`, so it is for the streams of one search). For each it reports what the
// database did (the service's watch statements, and every transaction the database committed), the
// service's CPU and memory, and what the streams received, and how late.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type BenchDatabase, openBenchDatabase } from './database.ts';
import { machine } from './machine.ts';
import { paceCreates } from './pace-creates.ts';
import { startTrex, type TrexProcess } from './trex-process.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    out: { type: 'string' },
    only: { type: 'string' }, // the rows whose name contains this
    profile: { type: 'string' }, // each row's server writes a CPU profile under DIR/<row number>
  },
});
const manyStreams = Number(values.streams);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const collection = '/api/rh-trex/v1/dinosaurs';
// PostgreSQL's backends flush their statistics within 10 s of going idle: a phase waits that long before
// and after it, so pg_stat_database counts its transactions, and only its.
const statsFlushMs = 11_000;

interface Phase {
  readonly name: string;
  readonly streams: number;
  readonly searches: number; // distinct searches over the streams; 0: none has a search
}

interface Figures extends Phase {
  readonly writesPerSecond: number;
  readonly watchStatementsPerSecond: number;
  readonly databaseTransactionsPerSecond: number;
  readonly cpuPercent: number; // of one core
  readonly rssMb: number;
  readonly kbPerStream: number | undefined;
  readonly messagesPerSecond: number;
  readonly missing: number; // messages expected and not received
  readonly latencyP50Ms: number | undefined;
  readonly latencyP99Ms: number | undefined;
}

const phases: Phase[] = [
  { name: 'no stream', streams: 0, searches: 0 },
  { name: 'one stream', streams: 1, searches: 0 },
  { name: `${manyStreams} streams, no search`, streams: manyStreams, searches: 0 },
  { name: `${manyStreams} streams, 100 searches`, streams: manyStreams, searches: 100 },
  { name: `${manyStreams} streams, ${manyStreams} searches`, streams: manyStreams, searches: manyStreams },
];

const logger = pino({ level: 'warn' });
const database = await openBenchDatabase(logger);
try {
  const figures: Figures[] = [];
  let idleRssMb = 0;
  for (const [row, phase] of phases.entries()) {
    if (values.only && !phase.name.includes(values.only)) continue;
    process.stderr.write(`bench:watch: ${phase.name}\n`);
    // A process of its own for each row, so its memory is that row's alone.
    const profiling = values.profile
      ? ['--cpu-prof', '--cpu-prof-dir', join(values.profile, String(row))]
      : [];
    const trex = await startTrex(database.url, { TREX_ENABLE_JWT: 'false' }, profiling);
    try {
      const measured = await measure(trex, database, phase, idleRssMb);
      if (phase.streams === 0) idleRssMb = measured.rssMb;
      figures.push(measured);
    } finally {
      await trex.server.stop();
    }
  }
  const report = { machine: machine(), rate, seconds, figures };
  print(report);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await database.drop();
}

async function measure(
  trex: TrexProcess,
  bench: BenchDatabase,
  phase: Phase,
  idleRssMb: number,
): Promise<Figures> {
  const arrivals = new Map<string, number[]>(); // resource id → when each stream received it
  const streams = await Promise.all(
    Array.from({ length: phase.streams }, (_, i) =>
      openStream(
        trex.url,
        phase.searches === 0 ? undefined : `species = 'watch ${i % phase.searches}'`,
        (id) => {
          const times = arrivals.get(id) ?? [];
          times.push(performance.now());
          arrivals.set(id, times);
        },
      ),
    ),
  );
  try {
    await settle(statsFlushMs); // the opening reads counted before, not during
    const statements = await watchStatements(trex);
    const transactions = await committed(bench);
    const cpu = trex.server.cpuSeconds();
    const started = performance.now();
    const sent = new Map<string, number>(); // resource id → when its create was sent
    const paced = await paceCreates(
      { url: trex.url, prefix: '/api/rh-trex/v1', headers: {} },
      rate,
      seconds,
      {
        species: (n) => `watch ${n % Math.max(1, phase.searches)}`,
        onCreated: (id, at) => sent.set(id, at),
      },
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpuPercent = Math.round(((trex.server.cpuSeconds() - cpu) / elapsed) * 100);
    const watchStatementsPerSecond = round(((await watchStatements(trex)) - statements) / elapsed);
    await settle(statsFlushMs); // the last messages arrive, and the database's statistics are flushed
    const databaseTransactionsPerSecond = round(((await committed(bench)) - transactions) / elapsed);
    const rssMb = trex.server.rssMb();

    // Each create is meant for the streams whose search its species passes (every stream, with none).
    const latencies: number[] = [];
    let expected = 0;
    let received = 0;
    const species = await speciesOf(bench, [...sent.keys()]);
    for (const [id, at] of sent) {
      const n = species.get(id) ?? -1;
      expected +=
        phase.searches === 0
          ? phase.streams
          : Array.from({ length: phase.streams }, (_, i) => i % phase.searches).filter((k) => k === n).length;
      for (const time of arrivals.get(id) ?? []) {
        latencies.push(time - at);
        received++;
      }
    }
    latencies.sort((a, b) => a - b);
    const at = (quantile: number): number | undefined =>
      latencies.length === 0
        ? undefined
        : round(latencies[Math.floor(quantile * (latencies.length - 1))] ?? 0);
    return {
      ...phase,
      writesPerSecond: paced.achievedPerSecond,
      watchStatementsPerSecond,
      databaseTransactionsPerSecond,
      cpuPercent,
      rssMb,
      // Against the process that had no stream, at the same point; only many streams rise above the noise
      // of a process's resident memory.
      kbPerStream:
        phase.streams < 100 || idleRssMb === 0
          ? undefined
          : Math.round(((rssMb - idleRssMb) * 1024) / phase.streams),
      messagesPerSecond: Math.round(received / elapsed),
      missing: expected - received,
      latencyP50Ms: at(0.5),
      latencyP99Ms: at(0.99),
    };
  } finally {
    for (const close of streams) close();
  }
}

// The species number of each created resource (`watch 42` → 42).
async function speciesOf(bench: BenchDatabase, ids: string[]): Promise<Map<string, number>> {
  const rows = await bench.query<{ id: string; species: string }>(
    'select id, species from dinosaurs where id = any($1)',
    [ids],
  );
  return new Map(rows.map((row) => [row.id, Number(row.species.slice('watch '.length))]));
}

// Opens a watch stream and calls `onMessage` with each message's resource id; resolves once the stream
// answered, with a function that closes it.
function openStream(
  url: string,
  search: string | undefined,
  onMessage: (id: string) => void,
): Promise<() => void> {
  const query = new URLSearchParams({ watch: 'true', ...(search ? { search } : {}) });
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}${collection}?${query}`, { headers: { accept: 'text/event-stream' } });
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      if (response.statusCode !== 200) return reject(new Error(`watch answered ${response.statusCode}`));
      let pending = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        pending += chunk;
        let end = pending.indexOf('\n\n');
        while (end !== -1) {
          const id = /"object":\{"id":"([^"]+)"/.exec(pending.slice(0, end))?.[1];
          if (id) onMessage(id);
          pending = pending.slice(end + 2);
          end = pending.indexOf('\n\n');
        }
      });
      response.on('error', () => {});
      resolve(() => outgoing.destroy());
    });
    outgoing.end();
  });
}

// Statements the service's watch streams sent so far (its watch_read_count, every reader).
async function watchStatements(trex: TrexProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${trex.metricsPort}/metrics`)).text();
  return [...text.matchAll(/^watch_read_count\{[^}]*\} (\S+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

// Transactions the bench database committed or rolled back so far, as its statistics say.
async function committed(bench: BenchDatabase): Promise<number> {
  const [row] = await bench.query<{ n: string }>(
    `select pg_stat_clear_snapshot(), (xact_commit + xact_rollback)::text as n
     from pg_stat_database where datname = current_database()`,
  );
  return Number(row?.n ?? 0);
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function print(report: { machine: string; figures: readonly Figures[] }): void {
  const show = (value: number | undefined, unit = ''): string =>
    value === undefined ? '' : `${value}${unit}`;
  const lines = [
    `${report.machine}; ${rate} creates/s for ${seconds} s per row`,
    '| streams | creates/s | watch statements/s | database transactions/s | CPU (% of a core) | RSS | per stream | messages/s | missing | latency p50 / p99 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.figures.map(
      (figure) =>
        `| ${figure.name} | ${figure.writesPerSecond} | ${figure.watchStatementsPerSecond} | ${figure.databaseTransactionsPerSecond} | ${figure.cpuPercent} | ${figure.rssMb} MB | ${show(figure.kbPerStream, ' KB')} | ${figure.messagesPerSecond} | ${figure.missing} | ${show(figure.latencyP50Ms, ' ms')} / ${show(figure.latencyP99Ms, ' ms')} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
