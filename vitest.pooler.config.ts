import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run test:pooler`: the service behind a real PgBouncer 1.18 in transaction mode with its default
// settings (test/pooler, test/support/pgbouncer.ts). Needs Debian's pgbouncer (/usr/sbin/pgbouncer);
// runs apart from `npm test`, with the same global setup (a server and a migrated template database).
// Each file runs in a fresh module graph: the contract file swaps the harness's service for a replica
// behind the pooler (vi.mock), which must not reach another file.
// biome-ignore lint/style/noDefaultExport: vitest reads the default export
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/pooler/**/*.test.ts'],
    exclude: (base.test?.exclude ?? []).filter((pattern) => !pattern.startsWith('test/pooler')),
    isolate: true,
    typecheck: { enabled: false }, // the type tests are npm test's
  },
});
