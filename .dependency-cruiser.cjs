// The layering of src/ (docs/architecture.md#layers), checked by `npm run lint`. Each layer may import
// the layers below it, never one above; a Kind's folder may import another Kind only for its model (to
// declare a reference). From the top:
//   cli, generator          commands
//   app                     the composition root: builds everything, names no Kind
//   kinds/<kind>            the plugins: the example Kinds, webhooks, the events API, and the list of them
//   kinds/framework         what every Kind gets: service, DAO, routes, schemas, lists, watch
//   http, events, auth, outbound     the platform: the edge, the event pipeline, tokens, outbound calls
//   db, search, observability, config, context, errors, values, service-name    the foundation
const layers = {
  commands: '^src/(cli|generator)/',
  app: '^src/app/',
  kinds: '^src/kinds/(?!framework/)',
  framework: '^src/kinds/framework/',
  platform: '^src/(http|events|auth|outbound)/',
  foundation: '^src/(db|search|observability|config|context|errors|values)/|^src/service-name\\.ts$',
  client: '^src/client/',
};

const above = {
  app: [layers.commands],
  kinds: [layers.commands, layers.app],
  framework: [layers.commands, layers.app, layers.kinds],
  platform: [layers.commands, layers.app, layers.kinds, layers.framework],
  foundation: [layers.commands, layers.app, layers.kinds, layers.framework, layers.platform],
};

const importsUp = Object.entries(above).map(([layer, higher]) => ({
  name: `${layer}-imports-down`,
  comment: `${layer} (${layers[layer]}) imports only the layers below it`,
  severity: 'error',
  from: { path: layers[layer] },
  to: { path: higher.join('|') },
}));

module.exports = {
  forbidden: [
    ...importsUp,
    {
      name: 'kind-imports-another-kind-only-for-its-model',
      comment: "a Kind's folder imports another Kind's model.ts only (to declare a reference)",
      severity: 'error',
      from: { path: '^src/kinds/([^/]+)/', pathNot: '^src/kinds/(framework|plugins\\.ts)' },
      to: {
        path: '^src/kinds/([^/]+)/',
        pathNot: ['^src/kinds/$1/', '^src/kinds/framework/', '^src/kinds/[^/]+/model\\.ts$'],
      },
    },
    {
      name: 'app-names-no-kind',
      comment: 'the composition root takes the plugin list (src/kinds/plugins.ts) and names no Kind',
      severity: 'error',
      from: { path: layers.app },
      to: { path: '^src/kinds/(?!framework/|plugins\\.ts$)' },
    },
    {
      name: 'platform-modules-stay-apart',
      comment: 'the platform modules import one another only where the edge authenticates (http -> auth)',
      severity: 'error',
      from: { path: '^src/(http|events|auth|outbound)/' },
      to: { path: '^src/(http|events|auth|outbound)/', pathNot: ['^src/$1/', '^src/auth/'] },
    },
    {
      name: 'platform-auth-imports-no-platform',
      comment: 'auth sits beside the edge, not on it',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/(http|events|outbound)/' },
    },
    {
      name: 'search-is-standalone',
      comment: 'the search language imports nothing of ours but the timestamp parser',
      severity: 'error',
      from: { path: '^src/search/' },
      to: { path: '^src/', pathNot: ['^src/search/', '^src/values/'] },
    },
    {
      name: 'client-is-standalone',
      comment: 'the typed client ships to users: it imports nothing of the service, and the service not it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/client/' },
      to: { path: layers.client },
    },
    {
      name: 'client-imports-nothing-of-ours',
      severity: 'error',
      from: { path: layers.client },
      to: { path: '^src/', pathNot: layers.client },
    },
    {
      name: 'no-circular',
      comment: 'no cycle of imports that run code (a cycle of type-only imports is harmless)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'dynamic-import'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
