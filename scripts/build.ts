// `npm run build` (run by `npm start` first, and by the test setup): compiles the trex command from src/
// into dist/, which bin/trex.js runs while no source is newer. Compiled, a process starts with about half
// the CPU it spends loading the sources through tsx. Packages stay in node_modules; each command's
// work stays a chunk of its own, loaded when the command runs.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = performance.now();
rmSync(`${root}/dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}/src/cli/main.ts`],
  outdir: `${root}/dist`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
process.stderr.write(`compiled src/ into dist/ in ${Math.round(performance.now() - started)} ms\n`);
