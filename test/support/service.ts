import { Writable } from 'node:stream';
import pino from 'pino';
import { type RunningService, startService } from '../../src/app/service.ts';
import { loadConfig, type RawOptions } from '../../src/config/config.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { forFile } from './for-file.ts';
import { createTestKeys, type TestKeys } from './tokens.ts';

// A service of the all or api role: it serves the API.
export interface ServingService extends RunningService {
  readonly apiUrl: string;
}

export interface TestService extends ServingService {
  readonly database: TestDatabase;
  readonly keys: TestKeys;
  // Every log line the service wrote, parsed.
  readonly logs: Record<string, unknown>[];
  // Calls the API with a valid token unless `token` is given (null: no Authorization header).
  api(path: string, init?: ApiInit): Promise<ApiResponse>;
}

export interface ApiInit {
  readonly method?: string;
  readonly body?: unknown; // objects are sent as JSON; strings as they are
  readonly headers?: Record<string, string>;
  readonly token?: string | null;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // The parsed body when it is JSON, else undefined.
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON and assert on its shape
  readonly body: any;
}

// The real service on ephemeral ports, with its own database and JWT authentication on, trusting a key
// this test file generated. `logLevel: 'trace'` lets a test check that nothing it sent reaches any log
// line. When the service does not start (a broken configuration file), its database is dropped again.
export async function startTestService(
  flags: RawOptions = {},
  options: { logLevel?: string } = {},
): Promise<TestService> {
  const database = await createTestDatabase();
  try {
    const keys = await createTestKeys();
    const { service, logs } = await startLoggedService(
      { dbUrl: database.url, enableJwt: true, jwkCertFile: keys.jwksFile, ...flags },
      options.logLevel,
    );
    const defaultToken = await keys.mint();
    return {
      ...service,
      database,
      keys,
      logs,
      api: (path, init = {}) => callApi(service.apiUrl, path, init, defaultToken),
      stop: async () => {
        await service.stop();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

// startTestService for the tests of one file, or of one describe block when called inside one: a
// beforeAll hook starts the service before them and an afterAll hook stops it after them. What it returns
// stands for that running service, so tests and hooks registered after the call use it as they would a
// TestService; read before the service started or after it stopped, it throws. Tests that need several
// services, or start one inside a test, call startTestService.
export function serviceForFile(flags: RawOptions = {}, options: { logLevel?: string } = {}): TestService {
  return forFile(
    'service',
    () => startTestService(flags, options),
    (service) => service.stop(),
  );
}

// The service in this process on ephemeral ports (integration_testing environment), every log line it
// writes captured and parsed. `flags` must name the database.
export async function startLoggedService(
  flags: RawOptions,
  logLevel = 'debug',
): Promise<{ service: ServingService; logs: Record<string, unknown>[] }> {
  const { service, logs } = await startLoggedProcess(flags, logLevel);
  const { apiUrl } = service;
  if (apiUrl === undefined) {
    await service.stop();
    throw new Error(`a process of the ${flags.role} role serves no API: use startLoggedProcess`);
  }
  return { service: { ...service, apiUrl }, logs };
}

// As startLoggedService, for a process of any role (a worker serves no API).
export async function startLoggedProcess(
  flags: RawOptions,
  logLevel = 'debug',
): Promise<{ service: RunningService; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const config = loadConfig(
    'serve',
    {
      apiServerBindaddress: '127.0.0.1:0',
      healthCheckServerBindaddress: '127.0.0.1:0',
      metricsServerBindaddress: '127.0.0.1:0',
      dbMaxOpenConnections: '10',
      ...flags,
    },
    { TREX_ENV: 'integration_testing' },
  );
  return { service: await startService(config, pino({ level: logLevel }, sink)), logs };
}

export async function callApi(
  baseUrl: string,
  path: string,
  init: ApiInit,
  defaultToken?: string,
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? defaultToken : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method: init.method ?? 'GET', headers, body });
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('json') && text !== '';
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: json ? JSON.parse(text) : undefined,
  };
}
