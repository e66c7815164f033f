import type { KindExtensions } from '../framework/plugin.ts';
import type { fossilKind } from './model.ts';

// What Fossil adds to what the framework derives from its fields. This file is yours: `trex generate`
// wrote it once and never overwrites it. Besides controllers, a Kind may add rules (checked before every
// write), routes and background work: see KindExtensions in src/kinds/framework/plugin.ts.
export const fossilExtensions: KindExtensions<typeof fossilKind.fields> = {
  // Reactions to Fossil events. Handlers may run more than once for one event, so keep them
  // idempotent.
  controllers: ({ service, logger }) => ({
    onUpsert: async (event) => {
      const fossil = await service.getIncludingDeleted(event.sourceId);
      // Deleted since this event was written: its Delete event follows; nothing to react to.
      if (fossil.deleted_at) return;
      logger.info({ id: fossil.id, event: event.eventType }, 'fossil upserted');
    },
    onDelete: async (event) => {
      logger.info({ id: event.sourceId }, 'fossil deleted');
    },
  }),
};
