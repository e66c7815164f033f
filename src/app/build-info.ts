import { existsSync, readFileSync } from 'node:fs';
import type { BuildInfo } from '../http/metadata-routes.ts';

// The package version, and the build time a container image records in TREX_BUILD_TIME (read by the
// CLI), or else the time this process started: never empty.
export function readBuildInfo(buildTime: string | undefined): BuildInfo {
  const packageJson = JSON.parse(readFileSync(packageJsonPath(), 'utf8')) as { version: string };
  return { version: packageJson.version, buildTime: buildTime || new Date().toISOString() };
}

// The project's package.json: the nearest above this module, which runs from src/ or, compiled, dist/.
function packageJsonPath(): URL {
  for (let directory = new URL('.', import.meta.url); ; directory = new URL('..', directory)) {
    const candidate = new URL('package.json', directory);
    if (existsSync(candidate)) return candidate;
    if (directory.pathname === '/') throw new Error('no package.json above the trex modules');
  }
}
