import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

// A fresh, migrated database for one test file, cloned from the run's template.
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase('trex_t', inject('templateDatabase'));
}

// A database with no tables, for tests of `trex migrate` itself.
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase('trex_e');
}

async function createDatabase(prefix: string, template?: string): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `${prefix}_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) =>
    client.query(`create database ${name}${template ? ` template ${template}` : ''}`),
  );
  const url = withDatabase(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // Dropping the database terminates its sessions, and may reach one of these as it closes.
  pool.on('error', () => {});

  return {
    url,
    name,
    query: async (text, values) => (await pool.query(text, values)).rows,
    drop: async () => {
      await pool.end();
      await withClient(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
