import { describe, expect, it } from 'vitest';
import { offlineDatabase } from '../../src/db/offline.ts';
import { noNotify } from '../../src/events/notifier.ts';
import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { KindService, type ServiceDependencies } from '../../src/kinds/framework/service.ts';
import { tracedService } from '../../src/kinds/framework/traced-service.ts';

const deps: ServiceDependencies = {
  db: offlineDatabase(), // every statement answers no rows, so a get finds nothing
  clock: () => new Date(),
  newId: () => 'id',
  notify: noNotify,
  locks: { lockAcquired: () => undefined },
  exactCountLimit: 10_000,
};

function recordingTracer() {
  const spans: { name: string; id: unknown }[] = [];
  return {
    spans,
    inSpan: async <T>(
      name: string,
      _kind: unknown,
      attributes: Record<string, unknown>,
      work: () => Promise<T>,
    ) => {
      spans.push({ name, id: attributes['trex.resource.id'] });
      return await work();
    },
  };
}

// What a team adds to the framework's service later: a method the tracing proxy has never heard of.
class ArchivingService extends KindService<typeof dinosaurKind.fields> {
  async archive(id: string): Promise<string> {
    return `${this.kind.name} ${id} archived`;
  }
}

describe('the tracing proxy around a Kind service', () => {
  it('makes a span of a method added after it was written, and passes its result through', async () => {
    const tracer = recordingTracer();
    const service = tracedService(new ArchivingService({ kind: dinosaurKind, deps }), tracer);
    expect(await service.archive('abc')).toBe('Dinosaur abc archived');
    expect(tracer.spans).toEqual([{ name: 'Dinosaur.archive', id: 'abc' }]);
  });

  it("makes one span of one call (not of the service's calls to itself), and passes its error through", async () => {
    const tracer = recordingTracer();
    const service = tracedService(new KindService({ kind: dinosaurKind, deps }), tracer);
    await expect(service.get('missing')).rejects.toMatchObject({
      message: "Dinosaur with id='missing' not found",
    });
    expect(tracer.spans).toEqual([{ name: 'Dinosaur.get', id: 'missing' }]);
  });

  it('leaves properties alone', () => {
    const service = tracedService(new KindService({ kind: dinosaurKind, deps }), recordingTracer());
    expect(service.kind).toBe(dinosaurKind);
  });
});
