import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig, type RawOptions } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/errors.ts';

type Environ = Record<string, string | undefined>;

// A configuration that is complete in every environment (a database and a key source), so a test can
// vary one thing at a time.
const complete: RawOptions = { dbUrl: 'postgres://db.example/trex', jwkCertFile: '/keys/jwks.json' };

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

describe('defaults', () => {
  it('serves the API on localhost:8000, metrics on 8080 and health on 8083, with a 1 MiB body limit', () => {
    const config = loadConfig('serve', {}, {});
    expect(config.environment).toBe('development');
    expect(config.api.address).toEqual({ host: 'localhost', port: 8000 });
    expect(config.metrics.address).toEqual({ host: 'localhost', port: 8080 });
    expect(config.health.address).toEqual({ host: 'localhost', port: 8083 });
    expect(config.api.bodyLimit).toBe(1024 * 1024);
  });

  it('uses the documented durations and pool size', () => {
    const config = loadConfig('serve', {}, {});
    expect(config.api.readTimeoutMs).toBe(5_000);
    expect(config.api.writeTimeoutMs).toBe(30_000);
    expect(config.shutdownTimeoutMs).toBe(20_000);
    expect(config.db.acquireTimeoutMs).toBe(5_000);
    expect(config.db.maxConnections).toBe(50);
    expect(config.api.corsAllowedOrigins).toEqual([]);
  });
});

describe('precedence', () => {
  it('takes a flag over its TREX_* variable, and the variable over the default', () => {
    const environ = { TREX_HTTP_BODY_LIMIT: '2048', TREX_API_SERVER_BINDADDRESS: '127.0.0.1:9001' };
    const fromFlags = loadConfig(
      'serve',
      { httpBodyLimit: '1024', apiServerBindaddress: '127.0.0.1:9002' },
      environ,
    );
    expect(fromFlags.api.bodyLimit).toBe(1024);
    expect(fromFlags.api.address).toEqual({ host: '127.0.0.1', port: 9002 });

    const fromEnviron = loadConfig('serve', {}, environ);
    expect(fromEnviron.api.bodyLimit).toBe(2048);
    expect(fromEnviron.api.address).toEqual({ host: '127.0.0.1', port: 9001 });
  });

  it('reads every kind of option from its TREX_* variable', () => {
    const config = loadConfig(
      'serve',
      {},
      {
        TREX_HTTP_READ_TIMEOUT: '7s',
        TREX_DB_MAX_OPEN_CONNECTIONS: '3',
        TREX_CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
        TREX_ENABLE_DB_DEBUG: 'true',
        TREX_LOG_LEVEL: 'debug',
        TREX_METRICS_SERVER_BINDADDRESS: ':9100',
      },
    );
    expect(config.api.readTimeoutMs).toBe(7_000);
    expect(config.db.maxConnections).toBe(3);
    expect(config.api.corsAllowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.db.debug).toBe(true);
    expect(config.logLevel).toBe('debug');
    expect(config.metrics.address).toEqual({ host: '0.0.0.0', port: 9100 });
  });

  it('ignores serve-only variables in `migrate`', () => {
    const config = loadConfig('migrate', {}, { TREX_API_SERVER_BINDADDRESS: 'not an address' });
    expect(config.api.address).toEqual({ host: 'localhost', port: 8000 });
  });
});

describe('environment', () => {
  it('reads TREX_ENV, accepts OCM_ENV, and prefers TREX_ENV when both are set', () => {
    expect(loadConfig('serve', complete, { TREX_ENV: 'integration_testing' }).environment).toBe(
      'integration_testing',
    );
    expect(loadConfig('serve', complete, { OCM_ENV: 'unit_testing' }).environment).toBe('unit_testing');
    expect(
      loadConfig('serve', complete, { TREX_ENV: 'production', OCM_ENV: 'development' }).environment,
    ).toBe('production');
  });

  it('rejects an unknown environment with a ConfigError naming it', () => {
    const error = configError(() => loadConfig('serve', complete, { TREX_ENV: 'staging' }));
    expect(error.message).toContain('staging');
    configError(() => loadConfig('serve', complete, { OCM_ENV: 'prod' }));
  });
});

describe('role', () => {
  it('runs everything by default, and takes api or worker from the flag or TREX_ROLE', () => {
    expect(loadConfig('serve', complete, {}).role).toBe('all');
    expect(loadConfig('serve', { ...complete, role: 'worker' }, {}).role).toBe('worker');
    expect(loadConfig('serve', complete, { TREX_ROLE: 'api' }).role).toBe('api');
  });

  it('rejects an unknown role with a ConfigError naming it and the known ones', () => {
    const error = configError(() => loadConfig('serve', { ...complete, role: 'controllers' }, {}));
    expect(error.message).toContain("'controllers'");
    expect(error.message).toContain('all, api, worker');
  });
});

describe('timeouts that produce an answer', () => {
  it('start with the defaults: every database wait ends before the write timeout', () => {
    const { db, api } = loadConfig('serve', complete, {});
    expect([db.queryTimeoutMs, db.lockTimeoutMs, db.acquireTimeoutMs, api.writeTimeoutMs]).toEqual([
      10_000, 2_000, 5_000, 30_000,
    ]);
  });

  it.each([
    [{ dbQueryTimeout: '30s' }, '--db-query-timeout'],
    [{ dbQueryTimeout: '29500ms' }, '--db-query-timeout'],
    [{ dbQueryTimeout: '0s' }, '--db-query-timeout'],
    [{ httpWriteTimeout: '5s', dbQueryTimeout: '4500ms' }, '--db-query-timeout'],
    [{ dbAcquireTimeout: '30s' }, '--db-acquire-timeout'],
  ])('refuse %o in one line naming both flags', (flags, named) => {
    const error = configError(() => loadConfig('serve', { ...complete, ...flags }, {}));
    expect(error.message).toContain(named);
    expect(error.message).toContain('--http-write-timeout');
    expect(error.message).not.toContain('\n');
  });

  it('leave `trex migrate` alone: it has no write timeout and runs without query and lock timeouts', () => {
    const { db } = loadConfig('migrate', { ...complete, dbAcquireTimeout: '60s' }, {});
    expect([db.queryTimeoutMs, db.lockTimeoutMs]).toEqual([0, 0]);
  });
});

describe('tenant-claim', () => {
  it('is off unless given, and then names the claim', () => {
    expect(loadConfig('serve', complete, {}).auth.tenantClaim).toBeUndefined();
    const config = loadConfig(
      'serve',
      { ...complete, enableJwt: 'true', tenantClaim: 'org_id' },
      { TREX_ENV: 'production' },
    );
    expect(config.auth.tenantClaim).toBe('org_id');
  });

  it('refuses to start without JWT authentication, which is where tenants come from', () => {
    const error = configError(() =>
      loadConfig('serve', { ...complete, enableJwt: 'false', tenantClaim: 'org_id' }, {}),
    );
    expect(error.message).toBe('--tenant-claim needs --enable-jwt: tenants come from tokens');
  });
});

describe('enable-jwt', () => {
  it('is off by default in development and on in every other environment', () => {
    expect(loadConfig('serve', {}, {}).auth.enableJwt).toBe(false);
    expect(loadConfig('serve', {}, { TREX_ENV: 'development' }).auth.enableJwt).toBe(false);
    for (const environment of ['unit_testing', 'integration_testing', 'production']) {
      expect(loadConfig('serve', complete, { TREX_ENV: environment }).auth.enableJwt, environment).toBe(true);
    }
  });

  it('lets the flag win over the environment in both directions', () => {
    const production = { TREX_ENV: 'production' };
    expect(loadConfig('serve', { ...complete, enableJwt: 'false' }, production).auth.enableJwt).toBe(false);
    expect(loadConfig('serve', { dbUrl: complete.dbUrl, enableJwt: false }, production).auth.enableJwt).toBe(
      false,
    );
    expect(loadConfig('serve', { ...complete, enableJwt: true }, {}).auth.enableJwt).toBe(true);
    expect(loadConfig('serve', { ...complete, enableJwt: 'true' }, {}).auth.enableJwt).toBe(true);
  });

  it('reads TREX_ENABLE_JWT, and the flag wins over it', () => {
    expect(
      loadConfig('serve', complete, { TREX_ENV: 'production', TREX_ENABLE_JWT: 'false' }).auth.enableJwt,
    ).toBe(false);
    expect(
      loadConfig('serve', { ...complete, enableJwt: 'true' }, { TREX_ENABLE_JWT: 'false' }).auth.enableJwt,
    ).toBe(true);
  });

  it('needs a key source once it is on, outside development', () => {
    const production = { TREX_ENV: 'production' };
    const bare = configError(() =>
      loadConfig('serve', { dbUrl: complete.dbUrl, enableJwt: true }, production),
    );
    expect(bare.message).toMatch(/jwk-cert-file|jwk-cert-url|oidc-issuer-url|key source/);
    configError(() => loadConfig('serve', { dbUrl: complete.dbUrl }, production));
    const withUrl = loadConfig(
      'serve',
      { enableJwt: true, jwkCertUrl: 'https://sso.example/certs' },
      {},
    ).auth;
    expect(withUrl.keySource).toEqual({ kind: 'url', url: 'https://sso.example/certs' });
  });

  it('takes the key source in order: file, then URL, then OIDC issuer, then the development key', () => {
    const source = (flags: Record<string, string | boolean>) =>
      loadConfig('serve', { enableJwt: true, ...flags }, {}).auth.keySource;
    expect(
      source({ jwkCertFile: 'k.json', jwkCertUrl: 'https://a/jwks', oidcIssuerUrl: 'https://a' }),
    ).toEqual({
      kind: 'file',
      path: 'k.json',
    });
    expect(source({ jwkCertUrl: 'https://a/jwks', oidcIssuerUrl: 'https://a' })).toEqual({
      kind: 'url',
      url: 'https://a/jwks',
    });
    expect(source({ oidcIssuerUrl: 'https://a' })).toEqual({ kind: 'oidc', issuerUrl: 'https://a' });
    expect(source({})).toEqual({ kind: 'development' });
  });

  it('rejects a value that is not a boolean, naming the flag', () => {
    const error = configError(() => loadConfig('serve', { enableJwt: 'maybe' }, {}));
    expect(error.message).toContain('--enable-jwt');
  });
});

describe('durations (Go syntax)', () => {
  it.each([
    ['5s', 5_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['0', 0],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
  ])('reads %s as %i ms', (text, milliseconds) => {
    expect(loadConfig('serve', { httpReadTimeout: text }, {}).api.readTimeoutMs).toBe(milliseconds);
    expect(loadConfig('serve', { shutdownTimeout: text }, {}).shutdownTimeoutMs).toBe(milliseconds);
  });

  it.each(['abc', '5', '5x', 's', '1m30', '', ' 5s', '5s '])(
    'rejects %j with a ConfigError naming the flag',
    (text) => {
      const error = configError(() => loadConfig('serve', { httpReadTimeout: text }, {}));
      expect(error.message).toContain('--http-read-timeout');
      const viaEnviron = configError(() => loadConfig('serve', {}, { TREX_DB_ACQUIRE_TIMEOUT: text }));
      expect(viaEnviron.message).toContain('--db-acquire-timeout');
    },
  );
});

describe('integers', () => {
  it.each(['abc', '-1', '1.5', '1e3', ''])('rejects %j with a ConfigError naming the flag', (text) => {
    const error = configError(() => loadConfig('serve', { httpBodyLimit: text }, {}));
    expect(error.message).toContain('--http-body-limit');
  });
});

describe('host:port', () => {
  it('reads :PORT as every interface, as Go does', () => {
    expect(loadConfig('serve', { apiServerBindaddress: ':8000' }, {}).api.address).toEqual({
      host: '0.0.0.0',
      port: 8000,
    });
  });

  it('reads a bracketed IPv6 address', () => {
    expect(loadConfig('serve', { healthCheckServerBindaddress: '[::1]:8000' }, {}).health.address).toEqual({
      host: '::1',
      port: 8000,
    });
  });

  it('reads a host name and an IPv4 address', () => {
    expect(loadConfig('serve', { apiServerBindaddress: 'example.com:1' }, {}).api.address).toEqual({
      host: 'example.com',
      port: 1,
    });
    expect(loadConfig('serve', { metricsServerBindaddress: '10.0.0.1:65535' }, {}).metrics.address).toEqual({
      host: '10.0.0.1',
      port: 65535,
    });
  });

  it.each(['localhost', 'localhost:', 'localhost:abc', 'localhost:65536', '::1:8000', '', '8000'])(
    'rejects %j with a ConfigError naming the flag',
    (text) => {
      const error = configError(() => loadConfig('serve', { apiServerBindaddress: text }, {}));
      expect(error.message).toContain('--api-server-bindaddress');
    },
  );
});

describe('database source', () => {
  const directories: string[] = [];
  afterAll(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });

  // rh-trex's secret files, each with the trailing newline a mounted secret usually has.
  function secretFiles(values: Record<string, string>): RawOptions {
    const directory = mkdtempSync(join(tmpdir(), 'trex-secrets-'));
    directories.push(directory);
    const flags: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      const file = join(directory, `db.${name}`);
      writeFileSync(file, `${value}\n`);
      flags[`db${name[0]?.toUpperCase()}${name.slice(1)}File`] = file;
    }
    return flags;
  }

  const files = () =>
    secretFiles({ host: 'db.internal', port: '6543', user: 'trex', password: 'secret', name: 'trexdb' });

  it('takes --db-url over DATABASE_URL and over the secret files', () => {
    const config = loadConfig(
      'serve',
      { ...files(), dbUrl: 'postgres://flag.example/a' },
      { DATABASE_URL: 'postgres://environ.example/b' },
    );
    expect(config.database).toEqual({ kind: 'url', url: 'postgres://flag.example/a' });
  });

  it('takes TREX_DB_URL over DATABASE_URL', () => {
    const config = loadConfig(
      'serve',
      {},
      { TREX_DB_URL: 'postgres://trex.example/a', DATABASE_URL: 'postgres://environ.example/b' },
    );
    expect(config.database).toEqual({ kind: 'url', url: 'postgres://trex.example/a' });
  });

  it('uses DATABASE_URL when no flag is given, also over the secret files', () => {
    expect(loadConfig('migrate', {}, { DATABASE_URL: 'postgres://environ.example/b' }).database).toEqual({
      kind: 'url',
      url: 'postgres://environ.example/b',
    });
    expect(loadConfig('serve', files(), { DATABASE_URL: 'postgres://environ.example/b' }).database).toEqual({
      kind: 'url',
      url: 'postgres://environ.example/b',
    });
  });

  it("builds a URL with sslmode from rh-trex's --db-*-file flags", () => {
    const config = loadConfig('serve', files(), { TREX_ENV: 'production', TREX_ENABLE_JWT: 'false' });
    expect(config.database.kind).toBe('url');
    const url = new URL(config.database.kind === 'url' ? config.database.url : '');
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('db.internal');
    expect(url.port).toBe('6543');
    expect(url.username).toBe('trex');
    expect(url.password).toBe('secret');
    expect(url.pathname).toBe('/trexdb');
    expect(url.searchParams.get('sslmode')).toBe('disable');
  });

  it('honours --db-sslmode and keeps special characters of the secrets intact', () => {
    const flags = {
      ...secretFiles({ host: 'db.internal', user: 'u@x', password: 'p@ss:w/rd%', name: 'my db' }),
      dbSslmode: 'require',
    };
    const config = loadConfig('migrate', flags, {});
    const url = new URL(config.database.kind === 'url' ? config.database.url : '');
    expect(url.searchParams.get('sslmode')).toBe('require');
    expect(url.port).toBe('5432');
    expect(decodeURIComponent(url.username)).toBe('u@x');
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd%');
    expect(decodeURIComponent(url.pathname)).toBe('/my db');
  });

  it('starts the embedded database under .trex/postgres in development when none is configured', () => {
    expect(loadConfig('serve', {}, {}).database).toEqual({ kind: 'embedded', dir: '.trex/postgres' });
    expect(loadConfig('migrate', {}, { TREX_ENV: 'development' }).database).toEqual({
      kind: 'embedded',
      dir: '.trex/postgres',
    });
  });

  it('refuses to run production without a database, in one line that says so', () => {
    const error = configError(() =>
      loadConfig('serve', { jwkCertFile: '/keys/jwks.json' }, { TREX_ENV: 'production' }),
    );
    expect(error.message).toMatch(/database/i);
    expect(error.message).not.toContain('\n');
    configError(() => loadConfig('migrate', {}, { OCM_ENV: 'production' }));
  });
});

describe('the loaded configuration', () => {
  it('is frozen all the way down', () => {
    const config: Config = loadConfig('serve', { corsAllowedOrigins: 'https://a.example' }, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.api)).toBe(true);
    expect(Object.isFrozen(config.api.address)).toBe(true);
    expect(Object.isFrozen(config.api.corsAllowedOrigins)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    expect(() => {
      (config.api.address as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.api.address.port).toBe(8000);
  });

  it('does not read the environment it was not given', () => {
    const environ: Environ = {};
    process.env.TREX_HTTP_BODY_LIMIT = '7';
    try {
      expect(loadConfig('serve', {}, environ).api.bodyLimit).toBe(1024 * 1024);
    } finally {
      delete process.env.TREX_HTTP_BODY_LIMIT;
    }
  });
});

describe('tracing', () => {
  it('is off by default, with the OTLP/HTTP port of a local collector', () => {
    expect(loadConfig('serve', complete, {}).tracing).toEqual({
      enabled: false,
      otlpEndpoint: 'http://localhost:4318',
    });
  });

  it('is turned on by flag or variable, with the endpoint given', () => {
    expect(
      loadConfig('serve', complete, {
        TREX_ENABLE_TRACING: 'true',
        TREX_OTLP_ENDPOINT: 'https://collector.example:4318',
      }).tracing,
    ).toEqual({ enabled: true, otlpEndpoint: 'https://collector.example:4318' });
    expect(loadConfig('serve', { ...complete, enableTracing: true }, {}).tracing.enabled).toBe(true);
  });

  it('refuses an endpoint that is not an http or https URL', () => {
    expect(
      configError(() => loadConfig('serve', { ...complete, otlpEndpoint: 'collector:4317' }, {})).message,
    ).toBe("--otlp-endpoint: 'collector:4317' is not an http or https URL");
  });
});

describe('the LISTEN connection', () => {
  it('goes to --db-listen-url when given, and to the database URL otherwise', () => {
    const direct = 'postgres://trex@postgres:5432/trex';
    expect(loadConfig('serve', { ...complete, dbListenUrl: direct }, {}).listenUrl).toBe(direct);
    expect(loadConfig('serve', complete, { TREX_DB_LISTEN_URL: direct }).listenUrl).toBe(direct);
    expect(loadConfig('serve', complete, {}).listenUrl).toBeUndefined();
  });

  it('refuses a --db-listen-url that is not a postgres URL, naming the flag', () => {
    expect(
      configError(() => loadConfig('serve', { ...complete, dbListenUrl: 'pgbouncer:6432' }, {})).message,
    ).toBe("--db-listen-url: 'pgbouncer:6432' is not a postgres:// URL");
  });
});

describe('trex migrate', () => {
  it('needs no JWT key source in production: it authenticates nothing', () => {
    const config = loadConfig('migrate', { dbUrl: 'postgres://db.example/trex' }, { TREX_ENV: 'production' });
    expect(config.auth.enableJwt).toBe(false);
  });
});
