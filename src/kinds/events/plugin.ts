import { definePlugin } from '../framework/plugin.ts';
import { eventKind } from './model.ts';

// The events API: the events table through the framework's GET routes, read-only. The table and its
// migrations belong to the event pipeline (src/events/), which works whether or not this Kind is served.
export const eventPlugin = definePlugin({ kind: eventKind, migrations: [], readOnly: true });
