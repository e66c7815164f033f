import { dinosaurPlugin } from './dinosaurs/plugin.ts';
import { eventPlugin } from './events/plugin.ts';
import { fossilPlugin } from './fossils/plugin.ts';
import type { KindPlugin } from './framework/plugin.ts';
import { webhookPlugin } from './webhooks/plugin.ts';

// The Kinds this service serves, in one explicit list (no registration by import side effect): the only
// place outside its own folder that names a Kind. `trex generate` adds each new Kind's import and entry.
// A tuple, so the type test of every Kind (test/types/) sees each plugin's own types.
export const plugins = [
  dinosaurPlugin,
  fossilPlugin,
  webhookPlugin,
  eventPlugin,
] as const satisfies readonly KindPlugin[];
