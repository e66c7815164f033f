// The event pipeline's baseline: graphile-worker (defaults but for concurrency) working BENCH_ITEMS
// jobs, each doing what the Dinosaur controller does per event: one select of a dinosaur by id through
// a pg pool. Started by the benchmark as a process of its own: queues the jobs in its schema
// (graphile_worker) of the bench database, opens its connections, prints `ready`; starts the worker on
// SIGUSR2 and stops on SIGTERM. The benchmark times the drain by polling the jobs table.
import { Logger, makeWorkerUtils, type Runner, run } from 'graphile-worker';
import pg from 'pg';
import { seededId, seededRows } from './database.ts';

const url = process.env.BENCH_DATABASE_URL;
const concurrency = Number(process.env.BENCH_CONCURRENCY);
const items = Number(process.env.BENCH_ITEMS);
const task = 'select_dinosaur';

// graphile's own pool: one connection per worker, one for its LISTEN, one spare for completions.
const workerPool = new pg.Pool({ connectionString: url, max: concurrency + 2, application_name: 'graphile' });
const taskPool = new pg.Pool({ connectionString: url, max: concurrency, application_name: 'graphile-task' });
const quiet = new Logger(() => (level, message) => {
  if (level === 'error') process.stderr.write(`graphile: ${message}\n`);
});

const utils = await makeWorkerUtils({ pgPool: workerPool, logger: quiet });
await utils.migrate();
for (let first = 0; first < items; first += 5000) {
  const count = Math.min(5000, items - first);
  await utils.addJobs(
    Array.from({ length: count }, (_, n) => ({
      identifier: task,
      payload: { id: seededId(1 + ((first + n) % seededRows)) },
    })),
  );
}
await Promise.all([warm(workerPool, concurrency + 2), warm(taskPool, concurrency)]);

let runner: Runner | undefined;
process.once('SIGUSR2', () => {
  void run({
    pgPool: workerPool,
    concurrency,
    noHandleSignals: true,
    logger: quiet,
    taskList: {
      [task]: async (payload) => {
        await taskPool.query('select * from dinosaurs where id = $1', [(payload as { id: string }).id]);
      },
    },
  }).then((started) => {
    runner = started;
  });
});
process.once('SIGTERM', () => {
  void (async () => {
    await runner?.stop();
    await utils.release();
    await Promise.all([workerPool.end(), taskPool.end()]);
  })();
});
process.stdout.write('ready\n');

// Opens `count` connections up front, as a running service would have them, so the timed drain does
// not pay for connecting.
async function warm(pool: pg.Pool, count: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  for (const client of clients) client.release();
}
