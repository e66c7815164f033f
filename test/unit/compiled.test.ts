import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// bin/compiled.js decides whether `trex` may run dist/: never when a source or an install is newer.
// It finds dist/, src/ and the lock files beside its own folder, so each test gives a copy of it a
// project of its own, with file times set by hand.
const original = fileURLToPath(new URL('../../bin/compiled.js', import.meta.url));
const projects: string[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) rmSync(project, { recursive: true, force: true });
});

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

function project(): { root: string; touch(path: string, seconds: number): void } {
  const root = mkdtempSync(join(tmpdir(), 'trex-compiled-'));
  projects.push(root);
  const touch = (path: string, seconds: number): void => {
    const file = join(root, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '');
    utimesSync(file, at(seconds), at(seconds));
  };
  mkdirSync(join(root, 'bin'));
  copyFileSync(original, join(root, 'bin/compiled.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  return { root, touch };
}

// Directories get the time of their newest entry, as a checkout that just wrote them would not, so a
// test controls every time it depends on.
function settle(root: string, directories: string[], seconds: number): void {
  for (const directory of directories) utimesSync(join(root, directory), at(seconds), at(seconds));
}

async function current(root: string): Promise<boolean> {
  // A fresh URL each time: the module reads the file system when called, not when imported.
  const module = (await import(`${pathToFileURL(join(root, 'bin/compiled.js')).href}?${Math.random()}`)) as {
    currentCompiledEntry(): URL | undefined;
  };
  return module.currentCompiledEntry() !== undefined;
}

describe('when trex runs the compiled command', () => {
  it('runs it when it is newer than every source and install', async () => {
    const { root, touch } = project();
    touch('src/cli/main.ts', 1);
    touch('package-lock.json', 1);
    touch('node_modules/.package-lock.json', 1);
    settle(root, ['src', 'src/cli'], 1);
    touch('dist/main.js', 2);
    expect(await current(root)).toBe(true);
  });

  it('runs the sources when there is no build, a source is newer, a file was added, or packages were installed since', async () => {
    const { root, touch } = project();
    touch('src/cli/main.ts', 1);
    settle(root, ['src', 'src/cli'], 1);
    expect(await current(root)).toBe(false); // no build

    touch('dist/main.js', 2);
    expect(await current(root)).toBe(true);

    touch('src/cli/main.ts', 3); // an edit
    settle(root, ['src', 'src/cli'], 1);
    expect(await current(root)).toBe(false);

    touch('dist/main.js', 4);
    touch('src/cli/new.ts', 1); // a file added with an old time: its directory is newer
    utimesSync(join(root, 'src/cli'), at(5), at(5));
    expect(await current(root)).toBe(false);

    touch('dist/main.js', 6);
    expect(await current(root)).toBe(true);
    touch('node_modules/.package-lock.json', 7); // an install
    expect(await current(root)).toBe(false);
  });
});
