import type { KindPlugin } from '../framework/plugin.ts';
import { dinosaurControllers } from './controllers.ts';
import { createDinosaurs } from './migrations/202611251401_create_dinosaurs.ts';

import { dinosaurKind } from './model.ts';

export const dinosaurPlugin: KindPlugin = {
  kind: dinosaurKind,
  migrations: [createDinosaurs],
  controllers: dinosaurControllers,
};
