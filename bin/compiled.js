// Whether dist/ holds the command compiled from the sources and packages as they are: no file under src/
// (nor a directory, whose time changes when a file is added, renamed or deleted) is newer than
// dist/main.js, and no install has happened since (the build bundles three packages in). Where there
// are no sources (the image), dist/ is all there is.
import { existsSync, readdirSync, statSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
const sources = new URL('../src/', import.meta.url);
const installs = ['../package-lock.json', '../node_modules/.package-lock.json'].map(
  (path) => new URL(path, import.meta.url),
);

export function currentCompiledEntry() {
  if (!existsSync(entry)) return undefined;
  if (!existsSync(sources)) return entry;
  const installed = installs.filter((file) => existsSync(file)).map((file) => statSync(file).mtimeMs);
  return Math.max(newestChange(sources), ...installed) <= statSync(entry).mtimeMs ? entry : undefined;
}

function newestChange(directory) {
  let newest = statSync(directory).mtimeMs;
  for (const item of readdirSync(directory, { withFileTypes: true })) {
    const path = new URL(item.name + (item.isDirectory() ? '/' : ''), directory);
    newest = Math.max(newest, item.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}
