// The event pipeline against graphile-worker, in the same run: each drains a backlog of `items` waiting
// at once (events for TRex, jobs for graphile-worker), each item one select of a seeded dinosaur by id,
// at each concurrency. Both run as processes of their own and are timed from outside, by SQL, so the
// measurement holds whatever the pipeline's inside. No other load runs meanwhile. A backlog is drained
// as it lands, with no vacuum or analyze in between (as a burst meets a service), and the measured
// events stay in the table once reconciled.
import { type BenchDatabase, seededRows } from './database.ts';
import { type Drain, timeDrain } from './drain-timer.ts';
import { startServer } from './processes.ts';
import type { PipelineRun, PipelineSide, Report } from './report.ts';
import { startTrex } from './trex-process.ts';

export const pipelineItems = 20_000;
// Each side drains its backlog this many times at each concurrency, the two sides taking turns, so that
// a burst of load from elsewhere on a shared machine falls on both rather than on one.
const turns = 2;

export async function measurePipeline(
  database: BenchDatabase,
  concurrencies: readonly number[] = [4, 16],
  items = pipelineItems,
): Promise<NonNullable<Report['pipeline']>> {
  // Nothing else may wait ahead of (or alongside) the measured events.
  await database.query('update events set reconciled_date = now() where reconciled_date is null');
  const runs: PipelineRun[] = [];
  for (const concurrency of concurrencies) {
    const graphile: Measured[] = [];
    const trex: Measured[] = [];
    for (let turn = 0; turn < turns; turn++) {
      process.stderr.write(
        `bench: pipeline at concurrency ${concurrency}, turn ${turn + 1}: graphile-worker\n`,
      );
      graphile.push(await graphileDrain(database, concurrency, items));
      process.stderr.write(`bench: pipeline at concurrency ${concurrency}, turn ${turn + 1}: TRex\n`);
      trex.push(await trexDrain(database, concurrency, items, `bench-pipeline-c${concurrency}-t${turn}-`));
    }
    const [g, t] = [figures(graphile, items), figures(trex, items)];
    const ratio = g.itemsPerSecond > 0 ? Math.round((t.itemsPerSecond / g.itemsPerSecond) * 100) / 100 : 0;
    runs.push({ concurrency, graphile: g, trex: t, ratio });
  }
  return { items, turns, runs };
}

type Measured = Drain & { readonly rssMb: number };

// Items per second over all of a side's turns; the most connections and memory any turn used.
function figures(measured: readonly Measured[], items: number): PipelineSide {
  const sum = (pick: (drain: Measured) => number): number =>
    measured.reduce((total, drain) => total + pick(drain), 0);
  const connections: Record<string, number> = {};
  for (const drain of measured) {
    for (const [name, n] of Object.entries(drain.connections))
      connections[name] = Math.max(connections[name] ?? 0, n);
  }
  const seconds = sum((drain) => drain.seconds);
  const left = sum((drain) => drain.left);
  return {
    itemsPerSecond: Math.round((items * measured.length - left) / seconds),
    seconds: Math.round(seconds * 100) / 100,
    left,
    connections,
    rssMb: Math.max(...measured.map((drain) => drain.rssMb)),
  };
}

async function graphileDrain(database: BenchDatabase, concurrency: number, items: number): Promise<Measured> {
  const worker = await startServer(
    ['--import', 'tsx', 'scripts/bench/graphile-baseline.ts'],
    { BENCH_DATABASE_URL: database.url, BENCH_CONCURRENCY: String(concurrency), BENCH_ITEMS: String(items) },
    /ready/,
  );
  try {
    const drain = await timeDrain(
      database,
      async () => {
        process.kill(worker.pid, 'SIGUSR2');
      },
      async () =>
        (
          await database.query<{ n: number }>(
            'select count(*)::int as n from graphile_worker._private_jobs where attempts < max_attempts',
          )
        )[0]?.n ?? 0,
      (name) => name.startsWith('graphile'),
    );
    return { ...drain, rssMb: worker.peakRssMb() };
  } finally {
    await worker.stop();
  }
}

// A dedicated `trex serve` (no authentication, no requests), woken by one NOTIFY once its events are
// written; the clock runs from that NOTIFY until none of them waits. Its resync interval is an hour, so
// that only the NOTIFY starts the drain: a resync between the insert and the NOTIFY would start it early.
async function trexDrain(
  database: BenchDatabase,
  concurrency: number,
  items: number,
  prefix: string, // of the events' ids
): Promise<Measured> {
  const trex = await startTrex(database.url, {
    TREX_ENABLE_JWT: 'false',
    TREX_EVENT_CONCURRENCY: String(concurrency),
    TREX_EVENT_RESYNC_INTERVAL: '1h',
  });
  try {
    // Two events for each seeded dinosaur, its second 10,000 places behind its first in both due order
    // (id) and write order (seq), as a resource's later change is written after its earlier one.
    await database.query(
      `insert into events (id, source, source_id, event_type, object)
       select $1 || lpad(n::text, 6, '0'), 'Dinosaurs', d.id, 'Create', to_jsonb(d)
       from generate_series(1, $2::int) as n
         join dinosaurs d on d.id = 'bench-d-' || lpad((1 + n % $3::int)::text, 5, '0')
       order by n`,
      [prefix, items, seededRows],
    );
    const drain = await timeDrain(
      database,
      async () => {
        await database.query(`select pg_notify('events', '')`);
      },
      // Only the measured events wait (the section began by marking every older one reconciled); the
      // partial index on waiting events keeps each poll cheap.
      async () =>
        (
          await database.query<{ n: number }>(
            'select count(*)::int as n from events where reconciled_date is null and failed_at is null',
          )
        )[0]?.n ?? 0,
      (name) => name.startsWith('trex'),
    );
    const [failed] = await database.query<{ n: number }>(
      `select count(*)::int as n from events where id like $1 and reconciled_date is null`,
      [`${prefix}%`],
    );
    return { ...drain, left: failed?.n ?? 0, rssMb: trex.server.peakRssMb() };
  } finally {
    await trex.server.stop();
  }
}
