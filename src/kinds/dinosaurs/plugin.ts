import { definePlugin } from '../framework/plugin.ts';
import { dinosaurExtensions } from './extensions.ts';
import { createDinosaurs } from './migrations/202611251401_create_dinosaurs.ts';
import { dinosaurKind } from './model.ts';

export const dinosaurPlugin = definePlugin({
  kind: dinosaurKind,
  migrations: [createDinosaurs],
  ...dinosaurExtensions,
});
