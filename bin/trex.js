#!/usr/bin/env node
// The `trex` command. It runs the compiled command in dist/ (`npm run build`; `npm start` builds first)
// while it matches the sources, and otherwise the TypeScript sources through tsx: an edit to src/ is
// never run stale, and a fresh clone needs no build step.
import { currentCompiledEntry } from './compiled.js';

const compiled = currentCompiledEntry();
if (compiled) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
