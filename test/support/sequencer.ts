import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The files that run longest (40 s or more each on a 2-core machine) start first, so that none is left
// running alone at the end. Vitest orders files by the durations it cached on earlier runs, but a fresh
// clone (CI) has no cache, and by size these would start late: the generator's alone then added 40 s.
const slowest = ['generator', 'container', 'faults', 'auth-keys', 'cli'].map(
  (name) => `/test/integration/${name}.test.ts`,
);

export class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = slowest.findIndex((path) => file.moduleId.endsWith(path));
      return index === -1 ? slowest.length : index;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
