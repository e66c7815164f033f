import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedMarker } from './templates.ts';

// A generated file's first line carries a digest of the rest, taken after formatting, so the generator
// can tell a file it may overwrite from one a person has edited since.

export type FileState = 'missing' | 'generated' | 'edited' | 'hand-written';

export function fileState(path: string): FileState {
  if (!existsSync(path)) return 'missing';
  const [first = '', ...rest] = readFileSync(path, 'utf8').split('\n');
  if (!first.startsWith(generatedMarker)) return 'hand-written';
  const stamp = /\(sha256 ([A-Za-z0-9_-]+)\)/.exec(first)?.[1];
  return stamp === digest(rest.join('\n')) ? 'generated' : 'edited';
}

// Formats written files with the formatter of `root`'s project (imports sorted, lines wrapped), under
// the configuration of the project in `cwd`; what it cannot fix is left for that project's lint to report.
export function formatFiles(root: string, cwd: string, paths: readonly string[]): void {
  const biome = join(root, 'node_modules', '.bin', 'biome');
  if (!existsSync(biome) || paths.length === 0) return;
  try {
    execFileSync(biome, ['check', '--write', '--no-errors-on-unmatched', ...paths], { cwd, stdio: 'pipe' });
  } catch {
    // Left as written: the lint reports it.
  }
}

// Formats the written files, then stamps every generated one with the digest of its formatted text.
export function formatAndStamp(root: string, paths: readonly string[]): void {
  formatFiles(root, root, paths);
  for (const path of paths) {
    const [first = '', ...rest] = readFileSync(path, 'utf8').split('\n');
    if (!first.startsWith(generatedMarker)) continue;
    const body = rest.join('\n');
    const unstamped = first.replace(/ \(sha256 [A-Za-z0-9_-]+\)/, '');
    const stamped = unstamped.replace(generatedMarker, `${generatedMarker} (sha256 ${digest(body)})`);
    writeFileSync(path, `${stamped}\n${body}`);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}
