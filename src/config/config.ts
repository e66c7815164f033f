import { type DatabaseSource, resolveDatabase } from './database.ts';
import { ConfigError } from './errors.ts';
import { type Command, environmentVariable, type OptionKey, type OptionSpec, options } from './options.ts';
import { parseBoolean, parseDuration, parseHostPort, parseInteger } from './values.ts';

export const environments = ['development', 'unit_testing', 'integration_testing', 'production'] as const;
export type Environment = (typeof environments)[number];

export interface Address {
  readonly host: string;
  readonly port: number;
}

// The whole configuration of one process, read once at start-up and frozen.
export interface Config {
  readonly environment: Environment;
  readonly database: DatabaseSource;
  readonly db: {
    readonly maxConnections: number;
    readonly acquireTimeoutMs: number;
    readonly debug: boolean;
  };
  readonly api: {
    readonly address: Address;
    readonly readTimeoutMs: number;
    readonly writeTimeoutMs: number;
    readonly bodyLimit: number;
    readonly corsAllowedOrigins: readonly string[];
  };
  readonly auth: { readonly enableJwt: boolean; readonly jwkCertFile: string; readonly jwkCertUrl: string };
  readonly metrics: { readonly address: Address };
  readonly health: { readonly address: Address };
  readonly events: {
    readonly notify: boolean;
    readonly resyncIntervalMs: number;
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly retryBackoffMs: number;
    readonly watchHeartbeatMs: number;
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
    db: {
      maxConnections: integer('dbMaxOpenConnections'),
      acquireTimeoutMs: duration('dbAcquireTimeout'),
      debug: bool('enableDbDebug', false),
    },
    api: {
      address: parseHostPort(options.apiServerBindaddress.flag, text('apiServerBindaddress')),
      readTimeoutMs: duration('httpReadTimeout'),
      writeTimeoutMs: duration('httpWriteTimeout'),
      bodyLimit: integer('httpBodyLimit'),
      corsAllowedOrigins: list('corsAllowedOrigins'),
    },
    auth: {
      // The flag always wins over the environment; only the default depends on it.
      enableJwt: bool('enableJwt', environment !== 'development'),
      jwkCertFile: text('jwkCertFile'),
      jwkCertUrl: text('jwkCertUrl'),
    },
    metrics: {
      address: parseHostPort(options.metricsServerBindaddress.flag, text('metricsServerBindaddress')),
    },
    health: {
      address: parseHostPort(options.healthCheckServerBindaddress.flag, text('healthCheckServerBindaddress')),
    },
    events: {
      notify: bool('enableEventNotify', true),
      resyncIntervalMs: Math.max(100, duration('eventResyncInterval')),
      concurrency: Math.max(1, integer('eventConcurrency')),
      maxAttempts: Math.max(1, integer('eventMaxAttempts')),
      retryBackoffMs: duration('eventRetryBackoff'),
      watchHeartbeatMs: duration('watchHeartbeatInterval'),
    },
    shutdownTimeoutMs: duration('shutdownTimeout'),

    logLevel: text('logLevel'),
  };
  if (config.auth.enableJwt && config.auth.jwkCertFile === '' && config.auth.jwkCertUrl === '') {
    throw new ConfigError('--enable-jwt needs a key source: set --jwk-cert-file or --jwk-cert-url');
  }
  return deepFreeze(config);
}

function readEnvironment(environ: Environ): Environment {
  const name = environ.TREX_ENV || environ.OCM_ENV || 'development';
  const known = environments.find((environment) => environment === name);
  if (!known) throw new ConfigError(`unknown environment '${name}': use one of ${environments.join(', ')}`);
  return known;
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
