import { Writable } from 'node:stream';
import pino from 'pino';
import { startService } from '../../src/app/service.ts';
import { loadConfig, type RawOptions } from '../../src/config/config.ts';
import { createTestDatabase } from './database.ts';
import { callApi, type TestService } from './service.ts';
import { createTestKeys } from './tokens.ts';

// Like startTestService (same flags, same defaults), but the service logs at `trace`, the most verbose
// level, so a test can check that nothing it sent reaches any log line; and when the service does not
// start (a broken configuration file), the database made for it is dropped before the error is rethrown.
export async function startTracedService(flags: RawOptions = {}): Promise<TestService> {
  const database = await createTestDatabase();
  try {
    const keys = await createTestKeys();
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
        dbUrl: database.url,
        apiServerBindaddress: '127.0.0.1:0',
        healthCheckServerBindaddress: '127.0.0.1:0',
        metricsServerBindaddress: '127.0.0.1:0',
        enableJwt: true,
        jwkCertFile: keys.jwksFile,
        dbMaxOpenConnections: '10',
        ...flags,
      },
      { TREX_ENV: 'integration_testing' },
    );
    const service = await startService(config, pino({ level: 'trace' }, sink));
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
