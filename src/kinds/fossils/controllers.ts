import type { Logger } from 'pino';
import type { KindControllers } from '../../events/controllers.ts';
import type { KindService } from '../framework/service.ts';

// How Fossil reacts to its own events. This file is yours: `trex generate` wrote it once and
// never overwrites it. Handlers may run more than once for one event, so keep them idempotent.
export function fossilControllers(service: KindService, logger: Logger): KindControllers {
  return {
    onUpsert: async (event) => {
      const fossil = await service.getIncludingDeleted(event.sourceId);
      // Deleted since this event was written: its Delete event follows; nothing to react to.
      if (fossil.deleted_at) return;
      logger.info({ id: fossil.id, event: event.eventType }, 'fossil upserted');
    },
    onDelete: async (event) => {
      logger.info({ id: event.sourceId }, 'fossil deleted');
    },
  };
}
