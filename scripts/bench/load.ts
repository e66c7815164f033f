// One workload driven by autocannon over real HTTP: a short warm-up whose figures are dropped, then
// the measured run.
import autocannon from 'autocannon';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number; // connection errors, timeouts and non-2xx answers
}

export type LoadOptions = Omit<autocannon.Options, 'duration'>;

export async function measureLoad(options: LoadOptions, seconds: number, warmUp = true): Promise<LoadResult> {
  if (warmUp) await run({ ...options, duration: Math.min(2, seconds) });
  const result = await run({ ...options, duration: seconds });
  return {
    requestsPerSecond: Math.round(result.requests.total / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function run(options: autocannon.Options): Promise<autocannon.Result> {
  return await autocannon({ timeout: 10, ...options });
}
