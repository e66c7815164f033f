import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/app/migrations.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import {
  bindFlags,
  cleanEnvironment,
  exitWithin,
  freePorts,
  runTrex,
  startTrex,
  type TrexProcess,
  waitFor,
  waitUntilServing,
} from '../support/cli.ts';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { holdRowLock, lockWaiters } from '../support/row-lock.ts';

const collection = '/api/rh-trex/v1/dinosaurs';

// Everything a test started, undone after it even when it failed.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'trex-cli-'));
  // Run as root, the embedded PostgreSQL runs as the `postgres` user, which must reach its data directory.
  chmodSync(directory, 0o755);
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

async function testDatabase(empty = false): Promise<TestDatabase> {
  const database = empty ? await createEmptyDatabase() : await createTestDatabase();
  cleanups.push(() => database.drop());
  return database;
}

function started(trex: TrexProcess): TrexProcess {
  cleanups.push(() => trex.kill());
  return trex;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The pid of the PostgreSQL server running on `dataDirectory`, if one is.
function postmasterPid(dataDirectory: string): number | undefined {
  const pidFile = join(dataDirectory, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('trex serve with no database configured (development)', () => {
  it('starts an embedded PostgreSQL under .trex/postgres, serves with JWT off, exits 0 on SIGTERM; a serve or migrate that fails exits 1 and stops it', async () => {
    const cwd = temporaryDirectory();
    const dataDirectory = join(cwd, '.trex', 'postgres');
    // Cleanups run last-registered first: this one runs after the process is killed and before the
    // directory is removed. Should the service have left its PostgreSQL running, stop it (fast shutdown).
    cleanups.push(async () => {
      const pid = postmasterPid(dataDirectory);
      if (pid !== undefined) {
        process.kill(pid, 'SIGINT');
        await waitFor(() => !isAlive(pid), 'the embedded PostgreSQL stopped', 30_000).catch(() => undefined);
      }
    });
    const { args, apiUrl } = await bindFlags();
    const trex = started(
      startTrex(['serve', ...args], { cwd, env: cleanEnvironment({ TREX_ENV: 'development' }) }),
    );

    await waitUntilServing(trex, apiUrl, 90_000);
    const list = await fetch(`${apiUrl}${collection}`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ kind: 'DinosaurList', items: [] });
    // Open: a write needs no token either, and the embedded database was migrated.
    const created = await fetch(`${apiUrl}${collection}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ species: 'Embeddosaurus' }),
    });
    expect(created.status).toBe(201);

    expect(existsSync(join(dataDirectory, 'PG_VERSION'))).toBe(true);
    expect(postmasterPid(dataDirectory)).toBeDefined();
    expect(lines(trex.stdout() + trex.stderr()).some((line) => /JWT authentication is off/i.test(line))).toBe(
      true,
    );

    trex.child.kill('SIGTERM');
    const exit = await exitWithin(trex, 10_000);
    expect(exit, trex.stderr()).toEqual({ code: 0, signal: null });
    // The embedded server stops with the service rather than outliving it, and after the service's
    // connections closed: shutting down reports nothing amiss.
    await waitFor(() => postmasterPid(dataDirectory) === undefined, 'PostgreSQL stopped', 10_000);
    const logged = lines(trex.stdout() + trex.stderr());
    const shutdown = logged.slice(logged.findIndex((line) => line.includes('shutting down')));
    expect(shutdown.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    expect(shutdown.filter((line) => /"level":(40|50|60)/.test(line))).toEqual([]);

    // A command that fails on the embedded database exits 1, and stops the server it started. The
    // library behind it once exited with its own code; these prove the commands keep theirs.
    const taken = createServer().listen(Number(new URL(apiUrl).port), '127.0.0.1');
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const cannotServe = await runTrex(['serve', ...args], {
      cwd,
      env: cleanEnvironment(),
      timeoutMs: 30_000,
    });
    expect(cannotServe.code, cannotServe.stderr).toBe(1);
    expect(lines(cannotServe.stderr)).toEqual([expect.stringMatching(/^trex: .*address already in use/)]);
    expect(postmasterPid(dataDirectory)).toBeUndefined();

    await recordUnknownMigration(dataDirectory);
    const cannotMigrate = await runTrex(['migrate'], { cwd, env: cleanEnvironment(), timeoutMs: 30_000 });
    expect(cannotMigrate.code, cannotMigrate.stderr).toBe(1);
    expect(lines(cannotMigrate.stderr)).toEqual([expect.stringMatching(/^trex: .*202001010000_unknown/)]);
    expect(postmasterPid(dataDirectory)).toBeUndefined();
  }, 120_000);
});

// Records a migration the code does not have, so the next `trex migrate` on that database fails.
async function recordUnknownMigration(dataDirectory: string): Promise<void> {
  const embedded = await startEmbeddedPostgres(dataDirectory, pino({ level: 'warn' }));
  try {
    const client = new pg.Client(embedded.url);
    await client.connect();
    await client.query(
      `insert into schema_migrations (name, timestamp) values ('202001010000_unknown', now()::text)`,
    );
    await client.end();
  } finally {
    await embedded.stop();
  }
}

describe('trex serve shutting down with a request in flight', () => {
  it('finishes the in-flight PATCH, stops accepting, and exits 0', async () => {
    const database = await testDatabase();
    const cwd = temporaryDirectory();
    const [api, metrics, health] = await freePorts(3);
    const apiUrl = `http://127.0.0.1:${api}`;
    // Flags in the `--flag value` form here.
    const trex = started(
      startTrex(
        [
          'serve',
          '--db-url',
          database.url,
          '--enable-jwt=false',
          '--api-server-bindaddress',
          `127.0.0.1:${api}`,
          '--metrics-server-bindaddress',
          `127.0.0.1:${metrics}`,
          '--health-check-server-bindaddress',
          `127.0.0.1:${health}`,
        ],
        { cwd, env: cleanEnvironment({ TREX_ENV: 'integration_testing' }) },
      ),
    );
    await waitUntilServing(trex, apiUrl, 60_000);

    const createdResponse = await fetch(`${apiUrl}${collection}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ species: 'Inflightosaurus' }),
    });
    expect(createdResponse.status).toBe(201);
    const created = (await createdResponse.json()) as { id: string };

    const lock = await holdRowLock(database.url, 'dinosaurs', created.id);
    cleanups.push(() => lock.release());
    let settled = false;
    const patch = fetch(`${apiUrl}${collection}/${created.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ species: 'Finished' }),
    }).finally(() => {
      settled = true;
    });
    await waitFor(
      async () => (await lockWaiters(database.query, database.name)) === 1,
      'the PATCH waits',
      10_000,
    );

    trex.child.kill('SIGTERM');
    await waitFor(() => connectionRefused(apiUrl), 'the API stops accepting connections', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(trex.hasExited()).toBe(false);

    await lock.release();
    const response = await patch;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { species: string }).species).toBe('Finished');
    const answered = Date.now();

    // Nothing is in flight any more: the process exits at once, not at the shutdown timeout (20 s).
    const exit = await exitWithin(trex, 30_000);
    const exitedAfterMs = Date.now() - answered;
    expect(exit, trex.stdout().split('\n').slice(-4).join('\n')).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(5_000);
    const [row] = await database.query('select species from dinosaurs where id = $1', [created.id]);
    expect(row?.species).toBe('Finished');
    const events = await database.query<{ event_type: string }>(
      'select event_type from events where source_id = $1 order by event_type',
      [created.id],
    );
    expect(events.map((event) => event.event_type)).toEqual(['Create', 'Update']);
  }, 60_000);
});

describe('production without a database', () => {
  it.each([['serve'], ['migrate']])(
    '`trex %s` exits non-zero with one line on stderr about the database',
    async (command) => {
      const cwd = temporaryDirectory();
      // A key source, so that the database is the only thing missing.
      const jwksFile = join(cwd, 'jwks.json');
      writeFileSync(jwksFile, '{"keys":[]}');
      const args = command === 'serve' ? [command, `--jwk-cert-file=${jwksFile}`] : [command];
      const result = await runTrex(args, { cwd, env: cleanEnvironment({ TREX_ENV: 'production' }) });
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(lines(result.stderr), JSON.stringify(result)).toHaveLength(1);
      expect(result.stderr).toMatch(/database/i);
      expect(existsSync(join(cwd, '.trex'))).toBe(false);
    },
    60_000,
  );
});

describe('trex migrate', () => {
  it('applies every migration once when two run at the same time, and is a no-op afterwards', async () => {
    const database = await testDatabase(true);
    const cwd = temporaryDirectory();
    const env = cleanEnvironment();
    const [first, second] = await Promise.all([
      runTrex(['migrate', '--db-url', database.url], { cwd, env, timeoutMs: 45_000 }),
      runTrex(['migrate', `--db-url=${database.url}`], { cwd, env, timeoutMs: 45_000 }),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);

    const tables = await database.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public'`,
    );
    expect(tables.map((table) => table.table_name)).toEqual(
      expect.arrayContaining(['dinosaurs', 'events', 'schema_migrations']),
    );
    const applied = async () =>
      await database.query<{ name: string; timestamp: string }>(
        'select name, timestamp from schema_migrations order by name',
      );
    const before = await applied();
    expect(before.map((row) => row.name)).toEqual(migrations.map((migration) => migration.id).sort());

    const again = await runTrex(['migrate', '--db-url', database.url], { cwd, env, timeoutMs: 45_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(await applied()).toEqual(before);
  }, 60_000);
});

describe('flags', () => {
  it('`serve --help` lists the flags and their TREX_ variables', async () => {
    const result = await runTrex(['serve', '--help'], { cwd: temporaryDirectory(), env: cleanEnvironment() });
    expect(result.code).toBe(0);
    for (const [flag, variable] of [
      ['--db-url', 'TREX_DB_URL'],
      ['--enable-jwt', 'TREX_ENABLE_JWT'],
      ['--jwk-cert-file', 'TREX_JWK_CERT_FILE'],
      ['--api-server-bindaddress', 'TREX_API_SERVER_BINDADDRESS'],
    ]) {
      expect(result.stdout).toContain(flag);
      expect(result.stdout).toContain(variable);
    }
  }, 60_000);

  // A database and ports are given so that, were the bad value ignored, the process would start
  // cleanly (and be killed at the timeout) instead of exiting.
  async function servable(): Promise<string[]> {
    const database = await testDatabase();
    return ['--db-url', database.url, ...(await bindFlags()).args];
  }

  it.each([
    ['--flag=value', ['--http-read-timeout=abc'], {}],
    ['--flag value', ['--http-read-timeout', 'abc'], {}],
    ['TREX_ variable', [], { TREX_HTTP_READ_TIMEOUT: 'abc' }],
  ])(
    'a bad duration given as %s exits non-zero with one line naming the flag',
    async (_form, flags, variables) => {
      const result = await runTrex(['serve', ...flags, ...(await servable())], {
        cwd: temporaryDirectory(),
        env: cleanEnvironment(variables),
        timeoutMs: 20_000,
      });
      expect(result.code).not.toBe(0);
      expect(lines(result.stderr), JSON.stringify(result)).toHaveLength(1);
      expect(result.stderr).toContain('--http-read-timeout');
      expect(result.stderr).toContain('abc');
    },
    60_000,
  );

  it.each([
    ['bare --enable-jwt', ['--enable-jwt']],
    ['--enable-jwt=true', ['--enable-jwt=true']],
  ])(
    '%s without a key source fails, outside development, with one line about the key source',
    async (_form, flags) => {
      // The flag comes first, so a bare boolean must not swallow the flag after it.
      const result = await runTrex(['serve', ...flags, ...(await servable())], {
        cwd: temporaryDirectory(),
        env: cleanEnvironment({ TREX_ENV: 'production' }),
        timeoutMs: 20_000,
      });
      expect(result.code).not.toBe(0);
      expect(lines(result.stderr), JSON.stringify(result)).toHaveLength(1);
      expect(result.stderr).toMatch(/key source|jwk-cert-file|jwk-cert-url|oidc-issuer-url/);
    },
    60_000,
  );

  it('rejects an unknown flag, naming it', async () => {
    const result = await runTrex(['serve', '--no-such-flag=1'], {
      cwd: temporaryDirectory(),
      env: cleanEnvironment(),
      timeoutMs: 20_000,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--no-such-flag');
  }, 60_000);
});
