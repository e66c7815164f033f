// `npm run bench:allocations [-- --only 'GET by id' --seconds 5 --top 25]`: where the service's
// allocations go under one of the benchmark's workloads (docs/performance.md#allocation-and-gc). The
// service runs in this process, as `trex serve` would (JWT on, validation, metrics, a log line per
// request at info, written nowhere), with V8's sampling heap profiler counting every allocation,
// collected or not; autocannon drives the workload, and its own allocations are left out. Prints the
// bytes allocated per request, by package and by function.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { startService } from '../../src/app/service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { benchCredentials } from './auth.ts';
import { openBenchDatabase, seed } from './database.ts';
import { workloads } from './workloads.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'GET by id' },
    seconds: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
  },
});
const workload = workloads.find(({ name }) => name.includes(values.only));
if (!workload) throw new Error(`no workload named like '${values.only}'`);

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children: readonly ProfileNode[];
}
interface SamplingProfile {
  readonly head: ProfileNode;
  readonly samples: readonly { readonly size: number; readonly nodeId: number }[];
}

const logger = pino({ level: 'warn' });
const database = await openBenchDatabase(logger);
try {
  await seed(database);
  const scratch = mkdtempSync(join(tmpdir(), 'trex-allocations-'));
  const jwksFile = join(scratch, 'jwks.json');
  const token = await benchCredentials(jwksFile);
  const secretKeyFile = join(scratch, 'webhook-secret-keys');
  writeFileSync(secretKeyFile, `${Buffer.alloc(32, 7).toString('base64')}\n`);
  const config = loadConfig(
    'serve',
    {
      dbUrl: database.url,
      apiServerBindaddress: '127.0.0.1:0',
      healthCheckServerBindaddress: '127.0.0.1:0',
      metricsServerBindaddress: '127.0.0.1:0',
      dbMaxOpenConnections: '20',
      jwkCertFile: jwksFile,
      webhookSecretKeyFile: secretKeyFile,
    },
    { TREX_ENV: 'production' },
  );
  // The request log lines are made and serialised as in production, then dropped.
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  const service = await startService(config, pino({ level: 'info' }, nowhere));
  try {
    if (service.apiUrl === undefined) throw new Error('the service serves no API');
    const target = {
      url: service.apiUrl,
      prefix: '/api/rh-trex/v1',
      headers: { authorization: `Bearer ${token}` },
    };
    await autocannon({ ...workload.load(target), duration: 2 }); // warm-up, not profiled
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const result = await autocannon({ ...workload.load(target), duration: Number(values.seconds) });
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: SamplingProfile;
    };
    session.disconnect();
    report(profile, result.requests.total, result.non2xx + result.errors);
  } finally {
    await service.stop();
  }
} finally {
  await database.drop();
}

function report(profile: SamplingProfile, requests: number, failed: number): void {
  // Each node's stack, to leave out what autocannon (the load generator) allocated.
  const stacks = new Map<number, ProfileNode[]>();
  const walk = (node: ProfileNode, stack: ProfileNode[]): void => {
    const own = [...stack, node];
    stacks.set(node.id, own);
    for (const child of node.children) walk(child, own);
  };
  walk(profile.head, []);
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const { size, nodeId } of profile.samples) {
    const stack = stacks.get(nodeId) ?? [];
    if (stack.some(({ callFrame }) => /autocannon|hdr-histogram|reinterval/.test(callFrame.url))) continue;
    const frame = stack.at(-1)?.callFrame;
    const place = placeOf(frame?.url ?? '');
    // A built-in (no url) is named with the JavaScript function that called it.
    const caller = stack.findLast(({ callFrame }) => callFrame.url !== '')?.callFrame;
    const name = `${describe(frame)}${frame?.url === '' && caller ? ` ← ${describe(caller)}` : ''}`;
    byPlace.set(place, (byPlace.get(place) ?? 0) + size);
    byFunction.set(name, (byFunction.get(name) ?? 0) + size);
    total += size;
  }
  const kb = (bytes: number): string => (bytes / 1024 / requests).toFixed(2);
  const top = (map: Map<string, number>): string[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(values.top))
      .map(([name, bytes]) => `${kb(bytes).padStart(8)} KB  ${name}`);
  process.stdout.write(
    [
      `${workload?.name}: ${requests} requests (${failed} failed), ${kb(total)} KB allocated per request (sampled every 4 KB)`,
      '',
      'by place',
      ...top(byPlace),
      '',
      'by function',
      ...top(byFunction),
      '',
    ].join('\n'),
  );
}

function describe(frame: ProfileNode['callFrame'] | undefined): string {
  return `${frame?.functionName || '(anonymous)'} ${shortUrl(frame?.url ?? '')}:${(frame?.lineNumber ?? 0) + 1}`;
}

// A package's name, `src/<dir>` for the service's own code, or `(node)` for Node's.
function placeOf(url: string): string {
  const packageName = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (packageName) return packageName;
  const own = /\/src\/([^/]+(?:\/[^/]+)?)\//.exec(url)?.[1];
  if (own) return `src/${own}`;
  return url.startsWith('node:') ? '(node)' : url === '' ? '(native)' : url;
}

function shortUrl(url: string): string {
  return url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/');
}
