// Every command-line flag the service understands, in one table. The CLI builds its options from it,
// the configuration loader reads the matching TREX_* variables from it, and the README's configuration
// reference is checked against it by a test. Flag names and defaults follow rh-trex where it has them.

export type OptionType = 'string' | 'boolean' | 'int' | 'duration' | 'list';
export type Command = 'serve' | 'migrate' | 'rotate-webhook-key';

export interface OptionSpec {
  readonly flag: string;
  readonly type: OptionType;
  readonly help: string;
  readonly commands: readonly Command[];
  // Absent means "no value": the loader or the environment decides (see config.ts).
  readonly default?: string | boolean | number | readonly string[];
}

// The commands that connect to the database.
const database: readonly Command[] = ['serve', 'migrate', 'rotate-webhook-key'];
const serve: readonly Command[] = ['serve'];

export const options = {
  // Database (rh-trex's --db-* flags, plus one URL that wins over the files)
  dbUrl: {
    flag: 'db-url',
    type: 'string',
    commands: database,
    help: 'PostgreSQL connection URL (also DATABASE_URL); wins over the --db-*-file flags',
  },
  dbHostFile: {
    flag: 'db-host-file',
    type: 'string',
    commands: database,
    default: 'secrets/db.host',
    help: 'File holding the database host',
  },
  dbPortFile: {
    flag: 'db-port-file',
    type: 'string',
    commands: database,
    default: 'secrets/db.port',
    help: 'File holding the database port',
  },
  dbUserFile: {
    flag: 'db-user-file',
    type: 'string',
    commands: database,
    default: 'secrets/db.user',
    help: 'File holding the database user',
  },
  dbPasswordFile: {
    flag: 'db-password-file',
    type: 'string',
    commands: database,
    default: 'secrets/db.password',
    help: 'File holding the database password',
  },
  dbNameFile: {
    flag: 'db-name-file',
    type: 'string',
    commands: database,
    default: 'secrets/db.name',
    help: 'File holding the database name',
  },
  dbSslmode: {
    flag: 'db-sslmode',
    type: 'string',
    commands: database,
    default: 'disable',
    help: 'Database SSL mode (disable, require, verify-ca or verify-full), used with the --db-*-file flags',
  },
  dbRootcert: {
    flag: 'db-rootcert',
    type: 'string',
    commands: database,
    default: 'secrets/db.rootcert',
    help: 'Database root certificate file, used with verify-ca and verify-full',
  },
  dbMaxOpenConnections: {
    flag: 'db-max-open-connections',
    type: 'int',
    commands: database,
    default: 50,
    help: 'Size of the main connection pool (requests, watch streams, event handlers); `trex serve` opens up to this + 7 connections in all',
  },
  dbListenUrl: {
    flag: 'db-listen-url',
    type: 'string',
    commands: serve,
    default: '',
    help: 'PostgreSQL URL for the one LISTEN connection (a direct one when --db-url is a transaction pooler); --db-url when empty',
  },
  dbPreparedStatements: {
    flag: 'db-prepared-statements',
    type: 'boolean',
    commands: database,
    default: true,
    help: 'Prepare each statement once per connection (off behind a pooler in transaction mode that cannot keep them)',
  },
  dbAcquireTimeout: {
    flag: 'db-acquire-timeout',
    type: 'duration',
    commands: database,
    default: '5s',
    help: 'How long a request waits for a pooled connection before answering 503',
  },
  dbQueryTimeout: {
    flag: 'db-query-timeout',
    type: 'duration',
    commands: serve,
    default: '10s',
    help: 'Longest a database statement may run before the request answers 503; at least 1s below --http-write-timeout',
  },
  dbLockTimeout: {
    flag: 'db-lock-timeout',
    type: 'duration',
    commands: serve,
    default: '2s',
    help: 'Longest a write waits for a lock (a row being written, a table a migration holds) before answering 503; 0: up to --db-query-timeout',
  },
  enableDbDebug: {
    flag: 'enable-db-debug',
    type: 'boolean',
    commands: database,
    default: false,
    help: 'Log every SQL statement, at debug level (so seen with --log-level=debug)',
  },
  embeddedDbDir: {
    flag: 'embedded-db-dir',
    type: 'string',
    commands: database,
    default: '.trex/postgres',
    help: 'Data directory of the embedded PostgreSQL started when no database is configured (never in production)',
  },

  // API server
  apiServerBindaddress: {
    flag: 'api-server-bindaddress',
    type: 'string',
    commands: serve,
    default: 'localhost:8000',
    help: 'API server bind address (host:port; an empty host, as in :8000, means every IPv4 interface)',
  },
  apiServerHostname: {
    flag: 'api-server-hostname',
    type: 'string',
    commands: serve,
    default: '',
    help: "Server's public hostname (accepted for rh-trex compatibility; hrefs are relative)",
  },
  httpReadTimeout: {
    flag: 'http-read-timeout',
    type: 'duration',
    commands: serve,
    default: '5s',
    help: 'HTTP server read timeout',
  },
  httpWriteTimeout: {
    flag: 'http-write-timeout',
    type: 'duration',
    commands: serve,
    default: '30s',
    help: 'HTTP server write timeout',
  },
  httpBodyLimit: {
    flag: 'http-body-limit',
    type: 'int',
    commands: serve,
    default: 1_048_576,
    help: 'Largest accepted request body in bytes; larger bodies get 413',
  },
  httpHeaderLimit: {
    flag: 'http-header-limit',
    type: 'int',
    commands: serve,
    default: 16_384,
    help: 'Largest accepted request line and headers in bytes; larger ones get 400',
  },
  corsAllowedOrigins: {
    flag: 'cors-allowed-origins',
    type: 'list',
    commands: serve,
    default: [],
    help: 'Comma list of origins allowed by CORS',
  },
  exactCountLimit: {
    flag: 'exact-count-limit',
    type: 'int',
    commands: serve,
    default: 10000,
    help: "A list counts its total exactly up to this many rows, and takes PostgreSQL's estimate beyond (Prefer: count=exact asks for an exact one)",
  },
  shutdownTimeout: {
    flag: 'shutdown-timeout',
    type: 'duration',
    commands: serve,
    default: '20s',
    help: 'How long SIGTERM waits for in-flight requests before the process exits',
  },

  // Authentication
  enableJwt: {
    flag: 'enable-jwt',
    type: 'boolean',
    commands: serve,
    help: 'Require a JWT on every API route but the public ones (default: on, off in development)',
  },
  jwkCertFile: {
    flag: 'jwk-cert-file',
    type: 'string',
    commands: serve,
    default: '',
    help: 'JWKS file with the keys that sign tokens',
  },
  jwkCertUrl: {
    flag: 'jwk-cert-url',
    type: 'string',
    commands: serve,
    default: '',
    help: 'JWKS URL with the keys that sign tokens',
  },

  oidcIssuerUrl: {
    flag: 'oidc-issuer-url',
    type: 'string',
    commands: serve,
    default: '',
    help: 'OpenID Connect issuer: its keys are found through /.well-known/openid-configuration',
  },
  jwtIssuer: {
    flag: 'jwt-issuer',
    type: 'string',
    commands: serve,
    default: '',
    help: 'The `iss` every token must carry (not checked when empty)',
  },
  jwtAudience: {
    flag: 'jwt-audience',
    type: 'string',
    commands: serve,
    default: '',
    help: 'An `aud` every token must carry (not checked when empty)',
  },
  jwtClockSkew: {
    flag: 'jwt-clock-skew',
    type: 'duration',
    commands: serve,
    default: '30s',
    help: 'How far the clocks of the identity provider and the service may differ for exp, nbf and iat',
  },
  jwksRefreshInterval: {
    flag: 'jwks-refresh-interval',
    type: 'duration',
    commands: serve,
    default: '30s',
    help: 'Least time between two fetches of the JWKS when a token names an unknown key',
  },
  aclFile: {
    flag: 'acl-file',
    type: 'string',
    commands: serve,
    default: '',
    help: 'YAML list of {claim, pattern}: a token must match one entry, else 403',
  },
  enableAuthz: {
    flag: 'enable-authz',
    type: 'boolean',
    commands: serve,
    default: true,
    help: 'Apply the authorization policy of --authz-policy-file (without a file every caller is allowed)',
  },
  authzPolicyFile: {
    flag: 'authz-policy-file',
    type: 'string',
    commands: serve,
    default: '',
    help: 'YAML rules granting verbs on Kinds to tokens whose claims match',
  },
  tenantClaim: {
    flag: 'tenant-claim',
    type: 'string',
    commands: serve,
    default: '',
    help: "The token claim naming the caller's tenant (e.g. org_id): tenant-scoped Kinds show each tenant only its own rows",
  },
  // Events and controllers
  role: {
    flag: 'role',
    type: 'string',
    commands: serve,
    default: 'all',
    help: 'What this process runs: all (the API and the event side), api (the API and its watch streams; worker processes handle the events), or worker (the controllers, webhook deliveries and event upkeep, with the health and metrics servers but no API)',
  },
  enableEventNotify: {
    flag: 'enable-event-notify',
    type: 'boolean',
    commands: serve,
    default: true,
    help: 'Wake controllers with pg_notify after each write (off: they rely on the resync interval)',
  },
  eventResyncInterval: {
    flag: 'event-resync-interval',
    type: 'duration',
    commands: serve,
    default: '10s',
    help: 'How often controllers rescan the events table for unreconciled events',
  },
  eventRetention: {
    flag: 'event-retention',
    type: 'duration',
    commands: serve,
    default: '720h',
    help: 'Events handled (or given up) longer ago than this are deleted, in small batches, by one replica at a time; 0 keeps every event',
  },
  eventConcurrency: {
    flag: 'event-concurrency',
    type: 'int',
    commands: serve,
    default: 4,
    help: 'Events this process handles at once (their handlers use the main pool)',
  },
  eventBatchSize: {
    flag: 'event-batch-size',
    type: 'int',
    commands: serve,
    default: 32,
    help: 'Most events one claim statement takes (and webhook deliveries likewise)',
  },
  eventLease: {
    flag: 'event-lease',
    type: 'duration',
    commands: serve,
    default: '30s',
    help: 'How long a claim on an event or delivery lasts unless renewed: the longest a dead replica keeps its work',
  },
  eventMaxAttempts: {
    flag: 'event-max-attempts',
    type: 'int',
    commands: serve,
    default: 10,
    help: 'Attempts before an event whose handler keeps failing is marked failed',
  },
  eventRetryBackoff: {
    flag: 'event-retry-backoff',
    type: 'duration',
    commands: serve,
    default: '1s',
    help: 'Delay before the first retry of a failed event; each later retry waits twice as long, at most 10m',
  },
  watchHeartbeatInterval: {
    flag: 'watch-heartbeat-interval',
    type: 'duration',
    commands: serve,
    default: '15s',
    help: 'How often an idle watch stream sends a comment to keep its connection alive',
  },

  // Webhooks
  webhookAllowedHosts: {
    flag: 'webhook-allowed-hosts',
    type: 'list',
    commands: serve,
    default: [],
    help: 'Comma list of hosts webhooks may target (host, host:port or *.domain); empty: no webhook may be created',
  },
  webhookTimeout: {
    flag: 'webhook-timeout',
    type: 'duration',
    commands: serve,
    default: '10s',
    help: 'How long a webhook receiver has to answer a delivery before the attempt counts as failed',
  },
  webhookConcurrency: {
    flag: 'webhook-concurrency',
    type: 'int',
    commands: serve,
    default: 4,
    help: 'Webhook deliveries this process starts at once, in each of its two lanes (receivers that answer, and those that fail); a send still waiting after 250ms frees its worker',
  },
  webhookMaxAttempts: {
    flag: 'webhook-max-attempts',
    type: 'int',
    commands: serve,
    default: 10,
    help: 'Attempts before a webhook delivery is marked failed',
  },
  webhookRetryBackoff: {
    flag: 'webhook-retry-backoff',
    type: 'duration',
    commands: serve,
    default: '1s',
    help: 'Delay before the first retry of a failed delivery; each later retry waits twice as long, at most 10m',
  },
  webhookDeliveryRetention: {
    flag: 'webhook-delivery-retention',
    type: 'duration',
    commands: serve,
    default: '720h',
    help: 'Webhook deliveries finished (delivered, given up or cancelled) longer ago than this are deleted, as events are; 0 keeps them all',
  },
  webhookSecretKeyFile: {
    flag: 'webhook-secret-key-file',
    type: 'string',
    commands: ['serve', 'rotate-webhook-key'],
    default: '',
    help: 'File of the keys that seal webhook secrets in the database (32 bytes in base64 a line, the sealing key first); empty: .trex/webhook-secret.key, made on first use, outside production',
  },
  webhookParkAfter: {
    flag: 'webhook-park-after',
    type: 'int',
    commands: serve,
    default: 10,
    help: 'Failed attempts in a row after which a webhook is parked: its deliveries wait, and one is tried per --webhook-probe-interval',
  },
  webhookProbeInterval: {
    flag: 'webhook-probe-interval',
    type: 'duration',
    commands: serve,
    default: '1m',
    help: 'How often a parked webhook is tried with one of its deliveries; the first success makes it active again',
  },

  // Metrics and health servers

  metricsServerBindaddress: {
    flag: 'metrics-server-bindaddress',
    type: 'string',
    commands: serve,
    default: 'localhost:8080',
    help: 'Metrics server bind address (host:port)',
  },
  healthCheckServerBindaddress: {
    flag: 'health-check-server-bindaddress',
    type: 'string',
    commands: serve,
    default: 'localhost:8083',
    help: 'Health check server bind address (host:port)',
  },

  // Tracing
  enableTracing: {
    flag: 'enable-tracing',
    type: 'boolean',
    commands: serve,
    default: false,
    help: 'Export OpenTelemetry traces of requests, service calls and SQL to --otlp-endpoint',
  },
  otlpEndpoint: {
    flag: 'otlp-endpoint',
    type: 'string',
    commands: serve,
    default: 'http://localhost:4318',
    help: 'Base URL of the OTLP/HTTP receiver (a collector) that traces are sent to, at /v1/traces',
  },

  // Process
  logLevel: {
    flag: 'log-level',
    type: 'string',
    commands: database,
    default: 'info',
    help: 'Log level (fatal, error, warn, info, debug, trace)',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof options;

// `enable-jwt` becomes TREX_ENABLE_JWT.
export function environmentVariable(flag: string): string {
  return `TREX_${flag.toUpperCase().replaceAll('-', '_')}`;
}
