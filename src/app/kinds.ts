import type { KindControllers } from '../events/controllers.ts';
import type { Fields } from '../kinds/framework/fields.ts';
import type { KindDefinition } from '../kinds/framework/kind.ts';
import type { BackgroundWork, KindContext, KindPlugin, PluginContext } from '../kinds/framework/plugin.ts';
import { referrersOf } from '../kinds/framework/relations.ts';
import type { ServedKind } from '../kinds/framework/served-routes.ts';
import type { KindService, ServiceDependencies } from '../kinds/framework/service.ts';
import { createKindService } from '../kinds/framework/traced-service.ts';
import type { Tracer } from '../observability/tracing.ts';

/** The plugin list made into services, and what each plugin adds, asked for only where it is used. */
export interface Kinds {
  /** Every Kind the API serves, with its routes. */
  served(): ServedKind[];
  /** Each Kind's reactions to its own events, by event source. */
  controllers(): { readonly source: string; readonly controllers: KindControllers }[];
  /** Every plugin's background work. */
  background(): BackgroundWork[];
}

// Builds one service per plugin (traced when a tracer is given), and hands each plugin hook its context
// and its Kind's own service. Names no Kind: the list comes in.
export function buildKinds(
  plugins: readonly KindPlugin[],
  shared: Omit<PluginContext, 'serviceFor' | 'kinds'>,
  deps: ServiceDependencies,
  tracer: Tracer | undefined,
): Kinds {
  // The Kinds whose resources change, and so have events, references and webhooks: all but the read-only.
  const kinds = plugins.filter((plugin) => !plugin.readOnly).map((plugin) => plugin.kind);
  const serviceFor = <G extends Fields>(kind: KindDefinition<G>, plugin?: KindPlugin<G>): KindService<G> =>
    createKindService(
      {
        kind,
        deps,
        referrers: referrersOf(kind, kinds),
        rules: plugin?.rules?.(context),
        stamps: plugin?.stamps?.(context),
        scope: plugin?.scope?.(context),
        storedForms: plugin?.storedForms?.(context),
      },
      tracer,
    );
  const context: PluginContext = {
    ...shared,
    kinds,
    serviceFor: (kind, extensions) => serviceFor(kind, extensions && { kind, migrations: [], ...extensions }),
  };
  const contexts = plugins.map((plugin): [KindPlugin, KindContext] => [
    plugin,
    { ...context, service: serviceFor(plugin.kind, plugin) },
  ]);
  return {
    served: () =>
      contexts.map(([plugin, kindContext]) => ({
        kind: plugin.kind,
        service: kindContext.service,
        readOnly: plugin.readOnly,
        routes: plugin.routes?.(kindContext),
      })),
    controllers: () =>
      contexts.flatMap(([plugin, kindContext]) =>
        plugin.controllers
          ? [{ source: plugin.kind.eventSource, controllers: plugin.controllers(kindContext) }]
          : [],
      ),
    background: () => contexts.flatMap(([plugin, kindContext]) => plugin.background?.(kindContext) ?? []),
  };
}
