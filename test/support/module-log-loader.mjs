// The resolve hook behind module-log-hook.mjs (it runs on Node's loader thread).
import { appendFileSync } from 'node:fs';

const logFile = process.env.TREX_TEST_MODULE_LOG;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (logFile) appendFileSync(logFile, `${resolved.url}\n`);
  return resolved;
}
