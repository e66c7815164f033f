import { defineField } from '../framework/fields.ts';
import { defineKind, type Resource } from '../framework/kind.ts';

export const dinosaurKind = defineKind({
  name: 'Dinosaur',
  plural: 'dinosaurs',
  fields: {
    species: defineField('string', {
      required: true,
      indexed: true,
      description: 'The species of the dinosaur',
    }),
  },
  tenantScoped: true,
});

export type Dinosaur = Resource<typeof dinosaurKind.fields>;
