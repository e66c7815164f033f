import type { KindExtensions } from '../framework/plugin.ts';
import type { dinosaurKind } from './model.ts';

// What the example adds to its Kind: rh-trex's reactions to its events. On create and update, load the
// dinosaur (an error, and so a retry, if no such dinosaur ever existed); on delete, note it. A dinosaur
// deleted since its event was written needs nothing: its Delete event follows. Replace these with your
// business logic; rules, routes and background work go here too (see src/kinds/framework/plugin.ts).
export const dinosaurExtensions: KindExtensions<typeof dinosaurKind.fields> = {
  controllers: ({ service, logger }) => ({
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
  }),
};
