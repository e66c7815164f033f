import { listableSources } from '../framework/caller-access.ts';
import { definePlugin } from '../framework/plugin.ts';
import { allOf } from '../framework/scope.ts';
import { eventsOfCallerTenant } from '../framework/tenancy.ts';
import { eventKind } from './model.ts';

// The events API: the events table through the framework's GET routes, read-only, showing a caller only
// the events of Kinds the caller may list, and with tenancy those of its own tenant. The table and its migrations belong to the event pipeline
// (src/events/), which works whether or not this Kind is served.
export const eventPlugin = definePlugin({
  kind: eventKind,
  migrations: [],
  readOnly: true,
  scope: ({ kinds }) => {
    const listable = listableSources(kinds, 'events.source');
    const ownTenant = eventsOfCallerTenant(kinds, 'events');
    return () => allOf([listable(), ownTenant()]);
  },
});
