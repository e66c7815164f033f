import { definePlugin } from '../framework/plugin.ts';
import { dinosaurExtensions } from './extensions.ts';
import { createDinosaurs } from './migrations/202611251401_create_dinosaurs.ts';
import { addDinosaurTenant } from './migrations/202612061900_add_dinosaur_tenant.ts';
import { addSpeciesPrefixIndex } from './migrations/202612062001_add_species_prefix_index.ts';
import { dinosaurKind } from './model.ts';

export const dinosaurPlugin = definePlugin({
  kind: dinosaurKind,
  migrations: [createDinosaurs, addDinosaurTenant, addSpeciesPrefixIndex],
  ...dinosaurExtensions,
});
