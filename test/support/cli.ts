import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';

// The real `trex` command of this checkout.
export const trexBin = fileURLToPath(new URL('../../bin/trex.js', import.meta.url));

export interface TrexProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  // Everything written so far.
  stdout(): string;
  stderr(): string;
  // Resolves with the exit code (or the signal that ended it) once the process has exited.
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  // SIGKILLs the process if it is still running; safe to call more than once.
  kill(): Promise<void>;
}

// This process's environment without any database or TREX_* configuration, plus `extra`.
export function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('TREX_') || name === 'DATABASE_URL' || name === 'OCM_ENV') continue;
    environment[name] = value;
  }
  return { ...environment, ...extra };
}

export interface TrexOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  // Another copy of the `trex` script (an image's file set); this checkout's by default.
  readonly bin?: string;
  // Run as this user (the test runs as root): an image's unprivileged USER.
  readonly user?: { readonly uid: number; readonly gid: number };
}

export function startTrex(args: string[], options: TrexOptions): TrexProcess {
  const child = spawn(process.execPath, [options.bin ?? trexBin, ...args], {
    cwd: options.cwd,
    env: options.env,
    ...options.user,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
    kill: async () => {
      if (done) return;
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}

// Runs `trex args...` to completion; kills it and fails after `timeoutMs`.
export async function runTrex(
  args: string[],
  options: TrexOptions & { timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const trex = startTrex(args, options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`trex ${args.join(' ')} did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const { code } = await Promise.race([trex.exited, timeout]);
    return { code, stdout: trex.stdout(), stderr: trex.stderr() };
  } finally {
    clearTimeout(timer);
    await trex.kill();
  }
}

// `count` distinct ports nothing listens on right now (the OS picks them). The probes stay open until
// all are picked: closed one by one, the OS may hand the same port out twice.
export async function freePorts(count: number): Promise<number[]> {
  const probes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const probe = createServer();
          probe.once('error', reject);
          probe.listen(0, '127.0.0.1', () => resolve(probe));
        }),
    ),
  );
  const ports = probes.map((probe) => {
    const address = probe.address();
    if (typeof address !== 'object' || !address) throw new Error('no port');
    return address.port;
  });
  await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))));
  return ports;
}

// Polls `condition` until it holds; throws with `what` after `timeoutMs`.
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// Resolves with the exit of `trex` or rejects after `timeoutMs`, leaving the process running.
export async function exitWithin(
  trex: TrexProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      trex.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const tail = trex.stdout().split('\n').slice(-6).join('\n');
          reject(new Error(`trex did not exit within ${timeoutMs} ms; its last output:\n${tail}`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// Flags binding the three servers to free loopback ports, and their URLs.
export async function bindFlags(): Promise<{
  args: string[];
  apiUrl: string;
  healthUrl: string;
  metricsUrl: string;
}> {
  const [api, metrics, health] = await freePorts(3);
  return {
    args: [
      `--api-server-bindaddress=127.0.0.1:${api}`,
      `--metrics-server-bindaddress=127.0.0.1:${metrics}`,
      `--health-check-server-bindaddress=127.0.0.1:${health}`,
    ],
    apiUrl: `http://127.0.0.1:${api}`,
    healthUrl: `http://127.0.0.1:${health}`,
    metricsUrl: `http://127.0.0.1:${metrics}`,
  };
}

// Polls the list endpoint until it answers 200; fails at once if the process exits first.
export async function waitUntilServing(trex: TrexProcess, apiUrl: string, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (trex.hasExited()) {
        throw new Error(`trex exited before serving:\n${trex.stderr()}\n${trex.stdout().slice(-2000)}`);
      }
      try {
        return (await fetch(`${apiUrl}/api/rh-trex/v1/dinosaurs`)).status === 200;
      } catch {
        return false;
      }
    },
    `${apiUrl} serves`,
    timeoutMs,
    250,
  );
}
