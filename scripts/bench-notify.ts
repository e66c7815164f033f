// Create throughput with pg_notify after each write, and without it, measured side by side in one run
// (the figures are in docs/events.md#the-events-table-is-an-outbox). Usage: npm run bench:notify
// [-- --seconds 10 --clients 32]
// Uses a scratch database on the server of TREX_BENCH_DATABASE_URL when set, else on an embedded
// PostgreSQL under .trex/bench-postgres.
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { migrations } from '../src/app/migrations.ts';
import { startService } from '../src/app/service.ts';
import { loadConfig } from '../src/config/config.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrator.ts';
import { openDatabase } from '../src/db/pool.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '32' } },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const logger = pino({ level: 'warn' });

const embedded = process.env.TREX_BENCH_DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres('.trex/bench-postgres', logger);
const serverUrl = process.env.TREX_BENCH_DATABASE_URL ?? embedded?.url ?? '';
// A database of its own on that server, dropped at the end.
const database = `trex_bench_${process.pid}`;
await admin(`create database ${database}`);
const url = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString();
const setup = openDatabase({ url, maxConnections: 1, acquireTimeoutMs: 10_000, debug: false }, logger);
await migrateToLatest(setup.db, migrations);
await setup.close();

async function measure(notify: boolean): Promise<number> {
  const config = loadConfig(
    'serve',
    {
      dbUrl: url,
      enableJwt: 'false',
      enableEventNotify: String(notify),
      apiServerBindaddress: '127.0.0.1:0',
      healthCheckServerBindaddress: '127.0.0.1:0',
      metricsServerBindaddress: '127.0.0.1:0',
    },
    { TREX_ENV: 'development' },
  );
  const service = await startService(config, logger);
  const endAt = Date.now() + seconds * 1000;
  let created = 0;
  const client = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const response = await fetch(`${service.apiUrl}/api/rh-trex/v1/dinosaurs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ species: 'bench' }),
      });
      await response.arrayBuffer();
      if (response.status === 201) created++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  await service.stop();
  return created / seconds;
}

// Alternate the two settings so drift on a shared machine affects both alike.
const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let round = 0; round < 2; round++) {
  rates.on.push(await measure(true));
  rates.off.push(await measure(false));
}
const mean = (list: number[]): number => list.reduce((sum, rate) => sum + rate, 0) / list.length;
console.log(`creates/s with notify: ${mean(rates.on).toFixed(0)}  without: ${mean(rates.off).toFixed(0)}`);
console.log(
  `ratio (with / without): ${(mean(rates.on) / mean(rates.off)).toFixed(3)}  (${clients} clients, ${seconds}s x 2 rounds each)`,
);

await admin(`drop database ${database} with (force)`);
await embedded?.stop();

async function admin(statement: string): Promise<void> {
  const client = new pg.Client(serverUrl);
  await client.connect();
  await client.query(statement);
  await client.end();
}
