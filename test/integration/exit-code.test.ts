import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { cleanEnvironment } from '../support/cli.ts';

// `npm test` must fail when a test fails, whichever PostgreSQL it uses: the embedded one (started by the
// global setup, whose library once replaced the exit code with 0) or the server TREX_TEST_DATABASE_URL
// names. The project's own test configuration runs on a failing and a passing fixture, in a subprocess.
const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function runFixture(fixture: 'failing' | 'passing', database: 'embedded' | 'server'): Promise<number | null> {
  const environment = cleanEnvironment(
    database === 'server' ? { TREX_TEST_DATABASE_URL: inject('adminUrl') } : {},
  );
  // Nothing of this run's own worker may leak into the child run.
  for (const name of Object.keys(environment)) if (name.startsWith('VITEST')) delete environment[name];
  const child = spawn(
    process.execPath,
    [vitest, 'run', '--config', 'test/fixtures/exit-code/vitest.config.ts', `${fixture}.fixture.ts`],
    { cwd: root, env: environment, stdio: 'ignore' },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
}

describe('the test command exit code', () => {
  it('is 1 when a test fails and 0 when all pass, on the embedded PostgreSQL and on a server', async () => {
    const runs = [
      ['failing', 'embedded'],
      ['passing', 'embedded'],
      ['failing', 'server'],
      ['passing', 'server'],
    ] as const;
    const codes = await Promise.all(runs.map(([fixture, database]) => runFixture(fixture, database)));
    expect(
      Object.fromEntries(runs.map(([fixture, database], i) => [`${fixture} on ${database}`, codes[i]])),
    ).toEqual({
      'failing on embedded': 1,
      'passing on embedded': 0,
      'failing on server': 1,
      'passing on server': 0,
    });
  }, 90_000);
});
