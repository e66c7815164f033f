import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GeneratorError } from './errors.ts';

export const openApiScript = 'scripts/openapi.ts';

// After a Kind is added or changed, the committed OpenAPI document and client types are out of date.
// The project's own `npm run openapi` script rewrites them, in a process of its own, which imports the
// plugin list as the generator left it. Returns false for a project without the script.
export async function regenerateOpenApi(root: string): Promise<boolean> {
  if (!existsSync(join(root, openApiScript))) return false;
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', openApiScript],
      { cwd: root },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const reason = stderr.split('\n').find((line) => /error/i.test(line)) ?? error.message;
        reject(
          new GeneratorError(`${openApiScript} failed (${reason.trim()}): fix it, then run npm run openapi`),
        );
      },
    );
  });
  return true;
}
