import { defineConfig } from 'vitest/config';
import { SlowestFirst } from './test/support/sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.git/**', 'test/pooler/**'], // npm run test:pooler runs these
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Most test files wait on PostgreSQL, HTTP or a child process far more than they compute, so three
    // run at once on two cores. A worker keeps its imported modules from one file to the next (no test
    // stubs a module or a global), which saves each file a fresh import of the service.
    maxWorkers: 3,
    isolate: false,
    sequence: { sequencer: SlowestFirst },
    // Type-level tests (test/types/*.test-d.ts) are checked by the compiler, not run.
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
