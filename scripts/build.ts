// `npm run build` (run by `npm start` first, and by the test setup): compiles the trex command from src/
// into dist/, which bin/trex.js runs while no source or install is newer. Each command's work stays a chunk of its
// own, loaded when the command runs. Packages stay in node_modules, but for three pure ES-module
// libraries made of many small files: loading TypeBox's, Kysely's and jose's 680 modules file by file
// (2,600 imports resolved) was nearly half of what a process spent starting. Compiled so, `trex serve` starts with about 0.9 s of CPU;
// from the sources through tsx it takes about 3 s.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const bundled = ['typebox', 'kysely', 'jose'];

const root = fileURLToPath(new URL('..', import.meta.url));
const { dependencies, devDependencies } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const started = performance.now();
rmSync(`${root}/dist`, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: [`${root}/src/cli/main.ts`],
  outdir: `${root}/dist`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // A package named here stays external with every path under it (`kysely/helpers/postgres` too).
  external: Object.keys({ ...dependencies, ...devDependencies }).filter((name) => !bundled.includes(name)),
  logLevel: 'warning',
  metafile: true,
});
// What each compiled file imports, the packages it leaves to node_modules among them: the image's
// production install must hold every one (a test reads this).
writeFileSync(`${root}/dist/metafile.json`, JSON.stringify(metafile));
process.stderr.write(`compiled src/ into dist/ in ${Math.round(performance.now() - started)} ms\n`);
