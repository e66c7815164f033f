// A real PgBouncer (Debian's `pgbouncer` package, 1.18) in transaction mode in front of the test
// server, for the tests under test/pooler. One process per caller, on a free loopback port, its ini,
// auth file, log, pid file and Unix socket in a temporary directory of its own. Every setting that
// shapes pooling is left at PgBouncer's default (default_pool_size 20, max_client_conn 100, no
// ignore_startup_parameters, no prepared statements kept): what a service meets behind an operator's
// pooler that nobody tuned for it.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePorts } from './cli.ts';

export const pgbouncerBin = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  readonly host: string;
  readonly port: number;
  // The URL of the same database and user as `databaseUrl` (a URL of the server behind), through the
  // pooler.
  pooled(databaseUrl: string): string;
  // PgBouncer's log so far.
  log(): string;
  // Stops it (SIGTERM, then SIGKILL) and removes its directory; safe to call more than once.
  stop(): Promise<void>;
}

// Starts PgBouncer in front of the server of `serverUrl` (any URL of it: its host, port, user and
// password count, not its database). Every database of that server is reachable through it under its
// own name (a `*` wildcard entry), so the per-file test databases need no configuration.
export async function startPgBouncer(serverUrl: string): Promise<PgBouncer> {
  // A port picked free may be taken before PgBouncer binds it: then it starts again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(serverUrl);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(serverUrl: string): Promise<PgBouncer> {
  if (!existsSync(pgbouncerBin)) {
    throw new Error(
      `PgBouncer is not installed (no ${pgbouncerBin}): the pooler tests need Debian's pgbouncer package ` +
        '(apt-get install -y pgbouncer); they start their own pgbouncer, the package service is not needed',
    );
  }
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const password = decodeURIComponent(server.password);
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');

  // PgBouncer refuses to run as root: as root, it runs as the `postgres` system user, which then owns
  // its directory (it writes its log, pid file and socket there).
  const runAs = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'trex-pgbouncer-'));
  chmodSync(dir, 0o755);
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);

  const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
  const authFile = join(dir, 'users.txt');
  // auth_type = trust accepts any client of a user listed here; the password is what PgBouncer logs in
  // to the server with when the server asks for one (the embedded PostgreSQL does).
  writeFileSync(authFile, `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
  const ini = join(dir, 'pgbouncer.ini');
  const settings: Record<string, string> = {
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    unix_socket_dir: dir, // not /tmp: nothing of a killed run is left behind there
    auth_type: 'trust',
    auth_file: authFile,
    pool_mode: 'transaction',
    logfile: join(dir, 'pgbouncer.log'),
    pidfile: join(dir, 'pgbouncer.pid'),
  };
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname.replace(/^\[(.*)\]$/, '$1')} port=${server.port || '5432'}`,
      '',
      '[pgbouncer]',
      ...Object.entries(settings).map(([name, value]) => `${name} = ${value}`),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );

  const child = spawn(pgbouncerBin, [ini], {
    cwd: dir,
    ...runAs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      output += `\n${String(error)}`;
      exited = true;
      resolve();
    });
    child.once('close', () => {
      exited = true;
      resolve();
    });
  });
  // A test run that dies leaves no pooler behind.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const logFile = settings.logfile ?? '';
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : output);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    await terminate(child, () => exited, exit);
    rmSync(dir, { recursive: true, force: true });
  };

  const host = '127.0.0.1';
  const pooled = (databaseUrl: string): string => {
    const url = new URL(databaseUrl);
    url.hostname = host;
    url.port = String(port);
    return url.toString();
  };
  try {
    // PgBouncer that cannot bind its port logs it and carries on with its Unix socket alone, while the
    // port answers for whoever took it: so its own word that it listens, not a connection, tells.
    await waitUntilListening(
      `${host}:${port}`,
      () => `${output}\n${log()}`,
      () => exited,
      10_000,
    );
    // Through it to the server once: a pooler that cannot reach the server fails here, not in a test.
    const probe = new pg.Client({ connectionString: pooled(serverUrl), connectionTimeoutMillis: 10_000 });
    try {
      await probe.connect();
      await probe.query('select 1');
    } finally {
      await probe.end().catch(() => undefined);
    }
  } catch (error) {
    const message = `PgBouncer on port ${port} did not start or cannot reach ${server.host}: ${String(error)}`;
    const tail = `${output}\n${log()}`.trim().split('\n').slice(-15).join('\n');
    await stop();
    throw new Error(`${message}\n${tail}`);
  }

  return { host, port, pooled, log, stop };
}

function systemUser(name: string): { uid: number; gid: number } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`no '${name}' user to run PgBouncer as (it refuses to run as root)`);
}

async function waitUntilListening(
  address: string,
  log: () => string,
  exited: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = log();
    if (text.includes(`cannot listen on ${address}`)) throw new Error(`${address}: Address already in use`);
    if (text.includes(`listening on ${address}`)) return;
    if (exited()) throw new Error('pgbouncer exited');
    if (Date.now() > deadline)
      throw new Error(`pgbouncer does not listen on ${address} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function terminate(child: ChildProcess, exited: () => boolean, exit: Promise<void>): Promise<void> {
  if (exited()) return;
  child.kill('SIGTERM'); // PgBouncer's immediate shutdown
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 5000);
  });
  if ((await Promise.race([exit, late])) === 'late') {
    child.kill('SIGKILL');
    await exit;
  }
  clearTimeout(timer);
}
