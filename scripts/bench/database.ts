// The benchmark's database: a scratch database of its own on the server of TREX_BENCH_DATABASE_URL,
// or on an embedded PostgreSQL under .trex/bench-postgres; migrated, seeded, and dropped at the end.
import pg from 'pg';
import type { Logger } from 'pino';
import { migrations } from '../../src/app/migrations.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { openDatabase } from '../../src/db/pool.ts';

export interface BenchDatabase {
  readonly url: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export const seededRows = 10_000;
export const speciesCount = 500; // so a species search finds seededRows / speciesCount rows
export const tenantCount = 10; // the rows are spread over tenant-0 ... tenant-9 (row n: tenant-(n % 10))
export const seededId = (n: number): string => `bench-d-${String(n).padStart(5, '0')}`;

export async function openBenchDatabase(logger: Logger): Promise<BenchDatabase> {
  const embedded = process.env.TREX_BENCH_DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres('.trex/bench-postgres', logger);
  const serverUrl = process.env.TREX_BENCH_DATABASE_URL ?? embedded?.url ?? '';
  const name = `trex_bench_${process.pid}`;
  await onServer(serverUrl, `create database ${name}`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const setup = openDatabase({ url, maxConnections: 1, acquireTimeoutMs: 10_000, debug: false }, logger);
  await migrateToLatest(setup.db, migrations);
  await setup.close();
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    url,
    query: async (text, values) => (await pool.query(text, values)).rows,
    drop: async () => {
      await pool.end();
      await onServer(serverUrl, `drop database if exists ${name} with (force)`);
      await embedded?.stop();
    },
  };
}

// 10,000 dinosaurs over 500 species and ten tenants, and a fossil referencing each (of the same tenant);
// written directly, without events.
export async function seed(database: BenchDatabase): Promise<void> {
  await database.query(
    `insert into dinosaurs (id, species, created_at, updated_at, tenant_id)
     select 'bench-d-' || lpad(n::text, 5, '0'), 'bench species ' || (n % ${speciesCount}),
       now() - n * interval '1 second', now(), 'tenant-' || (n % ${tenantCount})
     from generate_series(1, ${seededRows}) as n`,
  );
  await database.query(
    `insert into fossils (id, site, dinosaur_id, created_at, updated_at, tenant_id)
     select 'bench-f-' || lpad(n::text, 5, '0'), 'bench site ' || n, 'bench-d-' || lpad(n::text, 5, '0'),
       now() - n * interval '1 second', now(), 'tenant-' || (n % ${tenantCount})
     from generate_series(1, ${seededRows}) as n`,
  );
  await database.query('analyze');
}

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
