import type { RawOptions } from '../../src/config/config.ts';
import { startTestService, type TestService } from './service.ts';

// startTestService logging at `trace`, the most verbose level, so a test can check that nothing it sent
// reaches any log line.
export function startTracedService(flags: RawOptions = {}): Promise<TestService> {
  return startTestService(flags, { logLevel: 'trace' });
}
