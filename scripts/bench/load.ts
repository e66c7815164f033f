// Workloads driven by autocannon over real HTTP: a short warm-up whose figures are dropped, then the
// measured runs.
import autocannon from 'autocannon';
import type { ServerProcess } from './processes.ts';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number; // connection errors, timeouts and non-2xx answers
  readonly cpuUsPerRequest?: number; // the server process's CPU time per request, when measured
  // With --gc (the server runs with --trace-gc-nvp): kilobytes its V8 heap allocated per request, and
  // the share of its CPU time its main thread spent paused for garbage collection.
  readonly kbAllocatedPerRequest?: number;
  readonly gcShare?: number;
}

export type LoadOptions = Omit<autocannon.Options, 'duration'>;

export interface Side {
  readonly options: LoadOptions;
  readonly server?: Pick<ServerProcess, 'cpuSeconds' | 'gc'>; // whose CPU time per request is measured
  // Run right before and right after each of its measured turns (not its warm-up).
  readonly turnStarting?: () => Promise<void>;
  readonly turnEnded?: () => Promise<void>;
}

interface Turn {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly cpuSeconds: number;
  readonly allocatedBytes: number;
  readonly gcPauseMs: number;
}

// Each side (TRex, then the baseline) warmed up, then measured in turns (`turns` runs each of
// seconds / turns, alternating), so that a burst of load from elsewhere on a shared machine falls on
// both rather than on one. Requests per second are over all of a side's turns; p50 and p99 are the
// mean of its turns'.
export async function measureInTurns(
  sides: readonly Side[],
  seconds: number,
  turns = 2,
): Promise<LoadResult[]> {
  for (const side of sides) await run({ ...side.options, duration: Math.min(2, seconds) });
  const measured: Turn[][] = sides.map(() => []);
  for (let turn = 0; turn < turns; turn++) {
    for (const [index, side] of sides.entries()) {
      measured[index]?.push(await measureTurn(side, seconds / turns));
    }
  }
  return measured.map((sideTurns, index) => summary(sideTurns, sides[index]?.server !== undefined));
}

async function measureTurn(side: Side, seconds: number): Promise<Turn> {
  await side.turnStarting?.();
  const cpuBefore = side.server?.cpuSeconds() ?? 0;
  const gcBefore = side.server?.gc();
  const result = await run({ ...side.options, duration: seconds });
  const gcAfter = side.server?.gc();
  await side.turnEnded?.();
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuSeconds: side.server ? side.server.cpuSeconds() - cpuBefore : 0,
    allocatedBytes: (gcAfter?.allocatedBytes ?? 0) - (gcBefore?.allocatedBytes ?? 0),
    gcPauseMs: (gcAfter?.pauseMs ?? 0) - (gcBefore?.pauseMs ?? 0),
  };
}

function summary(turns: readonly Turn[], withCpu: boolean): LoadResult {
  const sum = (pick: (turn: Turn) => number): number => turns.reduce((total, turn) => total + pick(turn), 0);
  const requests = sum((turn) => turn.requests);
  const allocated = sum((turn) => turn.allocatedBytes);
  const cpuSeconds = sum((turn) => turn.cpuSeconds);
  return {
    requestsPerSecond: Math.round(requests / sum((turn) => turn.seconds)),
    p50Ms: Math.round(sum((turn) => turn.p50Ms) / turns.length),
    p99Ms: Math.round(sum((turn) => turn.p99Ms) / turns.length),
    errors: sum((turn) => turn.errors),
    ...(withCpu && requests > 0 ? { cpuUsPerRequest: Math.round((cpuSeconds * 1e6) / requests) } : {}),
    ...(allocated > 0 && requests > 0
      ? {
          kbAllocatedPerRequest: Math.round((allocated / 1024 / requests) * 10) / 10,
          gcShare: Math.round((sum((turn) => turn.gcPauseMs) / 1000 / cpuSeconds) * 1000) / 1000,
        }
      : {}),
  };
}

async function run(options: autocannon.Options): Promise<autocannon.Result> {
  return await autocannon({ timeout: 10, ...options });
}
