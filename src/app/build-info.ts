import { readFileSync } from 'node:fs';
import type { BuildInfo } from '../http/metadata-routes.ts';

// The package version, and the build time a container image records in TREX_BUILD_TIME (read by the
// CLI), or else the time this process started: never empty.
export function readBuildInfo(buildTime: string | undefined): BuildInfo {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return { version: packageJson.version, buildTime: buildTime || new Date().toISOString() };
}
