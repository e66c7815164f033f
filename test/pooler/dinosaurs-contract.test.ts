import { vi } from 'vitest';
import type { RawOptions } from '../../src/config/config.ts';
import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { validDinosaur } from '../support/factories/dinosaurs.ts';
import { describeKindContract } from '../support/kind-contract.ts';

// The Dinosaur contract suite (test/integration/dinosaurs-contract.test.ts runs it against the service
// in process) against a real `trex serve` behind PgBouncer in transaction mode. The suite starts its
// service with test/support/service.ts's startTestService; here that starts a replica behind a pooler
// instead (test/support/pooled-trex.ts), every other export of the module unchanged. Loaded lazily:
// that module imports this one. vitest.pooler.config.ts isolates files, so the swap stays in this one.
vi.mock('../support/service.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../support/service.ts')>()),
  startTestService: async (flags?: RawOptions) =>
    (await import('../support/pooled-trex.ts')).startPooledTestService(flags),
}));

describeKindContract(dinosaurKind, validDinosaur);
