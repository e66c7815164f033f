// One workload driven by autocannon over real HTTP: a short warm-up whose figures are dropped, then
// the measured run.
import autocannon from 'autocannon';
import type { ServerProcess } from './processes.ts';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number; // connection errors, timeouts and non-2xx answers
  readonly cpuUsPerRequest?: number; // the server process's CPU time per request, when measured
}

export type LoadOptions = Omit<autocannon.Options, 'duration'>;

// With `server`, also the CPU time that process spent per request during the measured run.
export async function measureLoad(
  options: LoadOptions,
  seconds: number,
  { warmUp = true, server }: { warmUp?: boolean; server?: Pick<ServerProcess, 'cpuSeconds'> } = {},
): Promise<LoadResult> {
  if (warmUp) await run({ ...options, duration: Math.min(2, seconds) });
  const cpuBefore = server?.cpuSeconds() ?? 0;
  const result = await run({ ...options, duration: seconds });
  const cpu = server ? server.cpuSeconds() - cpuBefore : 0;
  return {
    ...(server && result.requests.total > 0
      ? { cpuUsPerRequest: Math.round((cpu * 1e6) / result.requests.total) }
      : {}),
    requestsPerSecond: Math.round(result.requests.total / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function run(options: autocannon.Options): Promise<autocannon.Result> {
  return await autocannon({ timeout: 10, ...options });
}
