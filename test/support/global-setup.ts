import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { currentCompiledEntry } from '../../bin/compiled.js';
import { migrations } from '../../src/app/migrations.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { openDatabase } from '../../src/db/pool.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
    runId: string;
  }
}

// Once per run: find a PostgreSQL server (TREX_TEST_DATABASE_URL, or a throwaway embedded one), and
// build a migrated template database every test file clones.
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = pino({ level: 'warn' });
  const given = process.env.TREX_TEST_DATABASE_URL;
  // Without a server, a throwaway embedded one of this run's own: concurrent runs never share it.
  const scratch = given ? undefined : mkdtempSync(join(tmpdir(), 'trex-test-postgres-'));
  if (scratch) chmodSync(scratch, 0o755); // PostgreSQL runs as the postgres user when we are root
  const embedded: EmbeddedDatabase | undefined = scratch
    ? await startEmbeddedPostgres(join(scratch, 'data'), logger)
    : undefined;
  const adminUrl = given ?? embedded?.url ?? '';

  const runId = randomBytes(4).toString('hex');
  const templateDatabase = `trex_template_${runId}`;
  await adminQuery(adminUrl, `create database ${templateDatabase}`);
  const template = openDatabase(
    {
      url: withDatabase(adminUrl, templateDatabase),
      maxConnections: 2,
      acquireTimeoutMs: 10_000,
      debug: false,
    },
    logger,
  );
  await migrateToLatest(template.db, migrations);
  await template.close();

  // Tests that run `trex` run the compiled command, as `npm start` does. A nested run (a test that runs
  // the test runner) finds it current and leaves it alone, so no running `trex` sees it rewritten.
  if (!currentCompiledEntry())
    execFileSync('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('runId', runId);

  return async () => {
    // Test files drop their own databases; this catches any a crashed file left behind.
    const client = new pg.Client(adminUrl);
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like $1`,
      [`trex_%${runId}%`],
    );
    for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`);
    await client.end();
    await embedded?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
