// The servers under load run as processes of their own, so the load generator never shares their
// event loop; their memory is read from /proc, and their garbage collection from V8's own trace when
// they run with --trace-gc-nvp.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ServerProcess {
  readonly pid: number;
  peakRssMb(): number; // the highest resident set size so far (VmHWM)
  rssMb(): number; // the resident set size now (VmRSS)
  cpuSeconds(): number; // user and system time used so far
  gc(): GarbageCollection; // so far; zero unless the process runs with --trace-gc-nvp
  stop(): Promise<void>;
}

export interface GarbageCollection {
  readonly allocatedBytes: number; // allocated in V8's heap, summed over the collections
  readonly pauseMs: number; // the main thread's pauses for them
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// Starts `args` with this Node and waits until its output matches `ready`. Output after that is
// drained and dropped (the server pays for writing its logs, the benchmark does not keep them), but for
// V8's lines on each garbage collection, which are added up.
export async function startServer(
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForOutput(child, ready);
  const collected = { allocatedBytes: 0, pauseMs: 0 };
  let partial = '';
  const addUp = (chunk: Buffer): void => {
    const text = partial + chunk.toString();
    const end = text.lastIndexOf('\n');
    partial = text.slice(end + 1).slice(-100_000);
    if (!text.includes('allocated=')) return;
    // One line per collection: `... pause=0.4 ... allocated=4074320 ...` (bytes since the previous one).
    for (const [, pause, allocated] of text.slice(0, end).matchAll(/ pause=([\d.]+) .*? allocated=(\d+)/g)) {
      collected.pauseMs += Number(pause);
      collected.allocatedBytes += Number(allocated);
    }
  };
  child.stdout?.on('data', addUp);
  child.stderr?.on('data', addUp);
  return {
    pid: child.pid ?? 0,
    gc: () => ({ ...collected }),
    peakRssMb: () => residentMb(child.pid ?? 0, 'VmHWM'),
    rssMb: () => residentMb(child.pid ?? 0, 'VmRSS'),
    cpuSeconds: () => cpuSeconds(child.pid ?? 0),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function waitForOutput(child: ChildProcess, ready: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString()).slice(-100_000);
      if (!ready.test(seen)) return;
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before it was ready: ${seen}`)),
    );
  });
}

function residentMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round((kilobytes / 1024) * 10) / 10;
}

// utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name), in
// clock ticks of 1/100 s.
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
