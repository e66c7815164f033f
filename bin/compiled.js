// Whether dist/ holds the command compiled from the sources as they are: no file under src/ (and no
// directory, whose time changes when a file is added, renamed or deleted) is newer than dist/main.js.
import { existsSync, readdirSync, statSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
const sources = new URL('../src/', import.meta.url);

export function currentCompiledEntry() {
  return existsSync(entry) && newestChange(sources) <= statSync(entry).mtimeMs ? entry : undefined;
}

function newestChange(directory) {
  let newest = statSync(directory).mtimeMs;
  for (const item of readdirSync(directory, { withFileTypes: true })) {
    const path = new URL(item.name + (item.isDirectory() ? '/' : ''), directory);
    newest = Math.max(newest, item.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}
