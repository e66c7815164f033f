import type { Logger } from 'pino';
import type { KindControllers } from '../../events/controllers.ts';
import type { KindService } from '../framework/service.ts';

// The example's reactions to its events, as in rh-trex: on create and update, load the dinosaur (an
// error, and so a retry, if no such dinosaur ever existed); on delete, note it. A dinosaur deleted since
// its event was written needs nothing: its Delete event follows. Replace these with your business logic.
export function dinosaurControllers(service: KindService, logger: Logger): KindControllers {
  return {
    onUpsert: async (event) => {
      const dinosaur = await service.getIncludingDeleted(event.sourceId);
      if (dinosaur.deleted_at) return;
      logger.info(
        { id: dinosaur.id, species: dinosaur.species, event: event.eventType },
        'dinosaur upserted',
      );
    },
    onDelete: async (event) => {
      logger.info({ id: event.sourceId }, 'dinosaur deleted');
    },
  };
}
