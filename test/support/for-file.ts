import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

// Something the tests of one file (or of one describe block, when called inside one) share: a
// beforeAll hook starts it before them and an afterAll hook stops it after them. What it returns stands
// for the running thing, so tests and hooks registered after the call use it as they would the thing
// itself; used before it started or after it stopped, it throws.
export function forFile<T extends object>(
  what: string,
  start: () => Promise<T>,
  stop: (running: T) => Promise<void>,
): T {
  let running: T | undefined;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => {
    const stopping = running;
    running = undefined;
    if (stopping) await stop(stopping);
  });
  const current = (property: PropertyKey): T => {
    if (!running) {
      throw new Error(
        `${what}.${String(property)} used while the ${what} is not running; it runs from the beforeAll ` +
          'hook to the afterAll hook registered with it, so use it only in tests and in hooks registered after',
      );
    }
    return running;
  };
  return new Proxy({} as T, {
    get: (_target, property) => Reflect.get(current(property), property),
    // A property set (a receiver's `react`) goes to the running thing too.
    set: (_target, property, value) => Reflect.set(current(property), property, value),
  });
}

// A file holding `text` for the tests of one file (a policy, an ACL), removed after them.
export function fileForFile(name: string, text: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'trex-test-'));
  const path = join(directory, name);
  writeFileSync(path, text);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  return path;
}
