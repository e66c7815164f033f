// `npm run bench:profile -- FILE.cpuprofile [--top 30]`: where a CPU profile written by
// `npm run bench -- --profile DIR` spends its time: self time by package (or our own source directory)
// and the functions with the most self time. For the whole flame graph, open the file in Chrome DevTools
// or speedscope.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' } },
  allowPositionals: true,
});
const [file] = positionals;
if (!file) {
  process.stderr.write('usage: npm run bench:profile -- FILE.cpuprofile [--top 30]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

// Self time of each node, in microseconds.
const selfTime = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const sampled = [...selfTime.values()].reduce((sum, time) => sum + time, 0);

const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
// Shares are of the time the thread was busy: idle time depends only on how long the run waited.
let total = 0;
for (const [id, time] of selfTime) {
  const frame = byId.get(id)?.callFrame;
  if (!frame || frame.functionName === '(idle)') continue;
  total += time;
  add(byPlace, placeOf(frame.url, frame.functionName), time);
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
  add(byFunction, `${frame.functionName || '(anonymous)'} ${where}`.trim(), time);
}

const top = Number(values.top);
process.stdout.write(
  `${file}: ${(sampled / 1e6).toFixed(1)} s sampled, ${(total / 1e6).toFixed(1)} s busy\n\nself time by place\n`,
);
print(byPlace, top);
process.stdout.write('\nself time by function\n');
print(byFunction, top);

function add(map: Map<string, number>, key: string, time: number): void {
  map.set(key, (map.get(key) ?? 0) + time);
}

function print(map: Map<string, number>, count: number): void {
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  for (const [key, time] of rows) {
    process.stdout.write(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
  }
}

// A package under node_modules, a directory of our sources, Node's own code, or V8's pseudo-frames
// ((garbage collector), (idle), (program)).
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module?.[1]) return module[1];
  const source = /\/(src|scripts)\/(.+)\/[^/]+$/.exec(url);
  if (source) return `${source[1]}/${source[2]}`;
  return url.startsWith('node:') ? 'node' : shortUrl(url);
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|src|scripts)\//, '$1/');
}
