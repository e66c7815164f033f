import { type DatabaseSource, resolveDatabase } from './database.ts';
import { ConfigError } from './errors.ts';
import { type Command, environmentVariable, type OptionKey, type OptionSpec, options } from './options.ts';
import { parseBoolean, parseDuration, parseHostPort, parseInteger } from './values.ts';

export const environments = ['development', 'unit_testing', 'integration_testing', 'production'] as const;
export type Environment = (typeof environments)[number];
// all: the API and the event side; api: the API and its watch streams; worker: the event side alone.
export const roles = ['all', 'api', 'worker'] as const;
export type Role = (typeof roles)[number];

export type KeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'oidc'; readonly issuerUrl: string }
  | { readonly kind: 'development' } // the key `trex token` signs with, kept under .trex/
  | { readonly kind: 'none' }; // authentication off

export interface Address {
  readonly host: string;
  readonly port: number;
}

// The whole configuration of one process, read once at start-up and frozen.
export interface Config {
  readonly environment: Environment;
  readonly database: DatabaseSource;
  readonly listenUrl: string | undefined; // where LISTEN connects, when not the database's own URL
  readonly db: {
    readonly maxConnections: number;
    readonly acquireTimeoutMs: number;
    readonly queryTimeoutMs: number; // 0 for `trex migrate`: migrations may take long
    readonly lockTimeoutMs: number; // 0 for `trex migrate`, or to wait up to the query timeout
    readonly debug: boolean;
    readonly preparedStatements: boolean;
  };
  readonly api: {
    readonly address: Address;
    readonly readTimeoutMs: number;
    readonly writeTimeoutMs: number;
    readonly bodyLimit: number;
    readonly headerLimit: number;
    readonly corsAllowedOrigins: readonly string[];
    readonly exactCountLimit: number; // lists count exactly up to this many rows
  };
  readonly auth: {
    readonly enableJwt: boolean;
    readonly keySource: KeySource;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly clockSkewSeconds: number;
    readonly jwksRefreshIntervalMs: number;
    readonly aclFile: string | undefined;
    readonly enableAuthz: boolean;
    readonly authzPolicyFile: string | undefined;
    // The claim that carries the caller's tenant; undefined: no tenancy (every caller sees every row).
    readonly tenantClaim: string | undefined;
  };
  readonly metrics: { readonly address: Address };
  readonly health: { readonly address: Address };
  // What the process runs (docs/deployment.md#roles): the API, the event side, or both.
  readonly role: Role;
  readonly events: {
    readonly notify: boolean;
    readonly resyncIntervalMs: number;
    readonly retentionMs: number; // 0: events are kept for ever
    readonly concurrency: number;
    readonly batchSize: number;
    readonly leaseMs: number;
    readonly maxAttempts: number;
    readonly retryBackoffMs: number;
    readonly watchHeartbeatMs: number;
  };
  readonly webhooks: {
    readonly allowedHosts: readonly string[];
    readonly timeoutMs: number;
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly retryBackoffMs: number;
    readonly parkAfter: number;
    readonly probeIntervalMs: number;
    readonly secretKeyFile: string; // empty: the development key (secret-keys.ts)
    readonly deliveryRetentionMs: number; // 0: deliveries are kept for ever
  };
  readonly tracing: {
    readonly enabled: boolean;
    readonly otlpEndpoint: string;
  };
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
}

// Raw option values as the CLI received them: strings, or `true` for a bare boolean flag.
export type RawOptions = Partial<Record<OptionKey, string | boolean>>;

type Environ = Readonly<Record<string, string | undefined>>;

export function loadConfig(command: Command, flags: RawOptions, environ: Environ): Config {
  const environment = readEnvironment(environ);
  const spec = (key: OptionKey): OptionSpec => options[key];
  const raw = (key: OptionKey): string | boolean | undefined => {
    if (!spec(key).commands.includes(command)) return undefined;
    return flags[key] ?? environ[environmentVariable(spec(key).flag)];
  };
  const text = (key: OptionKey): string => String(raw(key) ?? spec(key).default ?? '');
  const integer = (key: OptionKey): number => parseInteger(options[key].flag, text(key));
  const duration = (key: OptionKey): number => parseDuration(options[key].flag, text(key));
  const bool = (key: OptionKey, fallback: boolean): boolean => {
    const value = raw(key);
    return value === undefined ? fallback : parseBoolean(options[key].flag, value);
  };
  const list = (key: OptionKey): string[] =>
    text(key)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');

  // Only `serve` authenticates: `trex migrate` in production (an init container) needs no key source.
  const enableJwt = command === 'serve' && bool('enableJwt', environment !== 'development');
  const config: Config = {
    environment,
    database: resolveDatabase({
      environment,
      url: stringOrUndefined(raw('dbUrl')) ?? environ.DATABASE_URL,
      hostFile: text('dbHostFile'),
      portFile: text('dbPortFile'),
      userFile: text('dbUserFile'),
      passwordFile: text('dbPasswordFile'),
      nameFile: text('dbNameFile'),
      sslmode: text('dbSslmode'),
      rootcert: text('dbRootcert'),
      embeddedDir: text('embeddedDbDir'),
    }),
    listenUrl: postgresUrl(options.dbListenUrl.flag, stringOrUndefined(raw('dbListenUrl'))),
    db: {
      maxConnections: integer('dbMaxOpenConnections'),
      acquireTimeoutMs: duration('dbAcquireTimeout'),
      queryTimeoutMs: command === 'serve' ? duration('dbQueryTimeout') : 0,
      lockTimeoutMs: command === 'serve' ? duration('dbLockTimeout') : 0,
      debug: bool('enableDbDebug', false),
      preparedStatements: bool('dbPreparedStatements', true),
    },
    api: {
      address: parseHostPort(options.apiServerBindaddress.flag, text('apiServerBindaddress')),
      readTimeoutMs: duration('httpReadTimeout'),
      writeTimeoutMs: duration('httpWriteTimeout'),
      bodyLimit: integer('httpBodyLimit'),
      headerLimit: integer('httpHeaderLimit'),
      corsAllowedOrigins: list('corsAllowedOrigins'),
      exactCountLimit: integer('exactCountLimit'),
    },
    auth: {
      // The flag always wins over the environment; only the default depends on it.
      enableJwt,
      keySource: keySource(
        enableJwt,
        environment,
        text('jwkCertFile'),
        text('jwkCertUrl'),
        text('oidcIssuerUrl'),
      ),
      issuer: text('jwtIssuer') || undefined,
      audience: text('jwtAudience') || undefined,
      clockSkewSeconds: duration('jwtClockSkew') / 1000,
      jwksRefreshIntervalMs: duration('jwksRefreshInterval'),
      aclFile: text('aclFile') || undefined,
      enableAuthz: bool('enableAuthz', true),
      authzPolicyFile: text('authzPolicyFile') || undefined,
      tenantClaim: tenantClaim(enableJwt, text('tenantClaim')),
    },
    metrics: {
      address: parseHostPort(options.metricsServerBindaddress.flag, text('metricsServerBindaddress')),
    },
    health: {
      address: parseHostPort(options.healthCheckServerBindaddress.flag, text('healthCheckServerBindaddress')),
    },
    role: readRole(text('role')),
    events: {
      notify: bool('enableEventNotify', true),
      resyncIntervalMs: Math.max(100, duration('eventResyncInterval')),
      retentionMs: duration('eventRetention'),
      concurrency: Math.max(1, integer('eventConcurrency')),
      batchSize: Math.max(1, integer('eventBatchSize')),
      leaseMs: Math.max(100, duration('eventLease')),
      maxAttempts: Math.max(1, integer('eventMaxAttempts')),
      retryBackoffMs: duration('eventRetryBackoff'),
      watchHeartbeatMs: duration('watchHeartbeatInterval'),
    },
    webhooks: {
      allowedHosts: list('webhookAllowedHosts').map((host) => host.toLowerCase()),
      timeoutMs: Math.max(1, duration('webhookTimeout')),
      concurrency: Math.max(1, integer('webhookConcurrency')),
      maxAttempts: Math.max(1, integer('webhookMaxAttempts')),
      retryBackoffMs: duration('webhookRetryBackoff'),
      parkAfter: Math.max(1, integer('webhookParkAfter')),
      probeIntervalMs: Math.max(1, duration('webhookProbeInterval')),
      secretKeyFile: text('webhookSecretKeyFile'),
      deliveryRetentionMs: duration('webhookDeliveryRetention'),
    },
    tracing: {
      enabled: bool('enableTracing', false),
      otlpEndpoint: httpUrl(options.otlpEndpoint.flag, text('otlpEndpoint')),
    },
    shutdownTimeoutMs: duration('shutdownTimeout'),
    logLevel: text('logLevel'),
  };
  if (command === 'serve') checkTimeouts(config);
  return deepFreeze(config);
}

// Every wait on the database must end, with an answer, before --http-write-timeout closes the connection:
// a request waits for a pooled connection up to the acquire timeout, and a statement is cancelled at the
// query timeout (and given up a second later if the server does not even answer that).
function checkTimeouts({ db, api }: Config): void {
  const write = options.httpWriteTimeout.flag;
  if (db.queryTimeoutMs <= 0 || db.queryTimeoutMs + 1000 > api.writeTimeoutMs) {
    throw new ConfigError(
      `--${options.dbQueryTimeout.flag} must be above 0 and at least 1s below --${write}, so a statement that runs too long is answered (503) before the connection is closed`,
    );
  }
  if (db.acquireTimeoutMs >= api.writeTimeoutMs) {
    throw new ConfigError(
      `--${options.dbAcquireTimeout.flag} must be below --${write}, so a request waiting for a database connection is answered (503) before the connection is closed`,
    );
  }
}

// Where the keys that sign tokens come from: the first of --jwk-cert-file, --jwk-cert-url and
// --oidc-issuer-url that is set; in development with none set, the development key of `trex token`.
function keySource(
  enableJwt: boolean,
  environment: Environment,
  file: string,
  url: string,
  issuer: string,
): KeySource {
  if (file) return { kind: 'file', path: file };
  if (url) return { kind: 'url', url };
  if (issuer) return { kind: 'oidc', issuerUrl: issuer };
  if (environment === 'development') return { kind: 'development' };
  if (enableJwt) {
    throw new ConfigError(
      '--enable-jwt needs a key source: set --jwk-cert-file, --jwk-cert-url or --oidc-issuer-url',
    );
  }
  return { kind: 'none' };
}

function readRole(name: string): Role {
  const known = roles.find((role) => role === name);
  if (!known)
    throw new ConfigError(`--${options.role.flag}: unknown role '${name}': use one of ${roles.join(', ')}`);
  return known;
}

function readEnvironment(environ: Environ): Environment {
  const name = environ.TREX_ENV || environ.OCM_ENV || 'development';
  const known = environments.find((environment) => environment === name);
  if (!known) throw new ConfigError(`unknown environment '${name}': use one of ${environments.join(', ')}`);
  return known;
}

// Tenants come from verified tokens: with JWT authentication off there is no caller to scope.
function tenantClaim(enableJwt: boolean, claim: string): string | undefined {
  if (claim === '') return undefined;
  if (!enableJwt)
    throw new ConfigError(`--${options.tenantClaim.flag} needs --enable-jwt: tenants come from tokens`);
  return claim;
}

function httpUrl(flag: string, text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new ConfigError(`--${flag}: '${text}' is not an http or https URL`);
  }
  return text;
}

function postgresUrl(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!URL.canParse(text) || !/^postgres(ql)?:$/.test(new URL(text).protocol)) {
    throw new ConfigError(`--${flag}: '${text}' is not a postgres:// URL`);
  }
  return text;
}

function stringOrUndefined(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
