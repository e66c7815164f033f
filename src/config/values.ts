// Parsers for option values in rh-trex's forms: Go durations ("5s", "1m30s"), host:port addresses,
// booleans as pflag accepts them. Each throws a ConfigError whose message names the flag.
import { ConfigError } from './errors.ts';

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseDuration(flag: string, text: string): number {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new ConfigError(`--${flag}: '${text}' is not a duration (examples: 500ms, 5s, 1m30s)`);
  }
  return parts.reduce(
    (total, [, amount, unit]) => total + Number(amount) * (durationUnits[unit ?? 's'] ?? 0),
    0,
  );
}

export function parseInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`--${flag}: '${text}' is not a non-negative integer`);
  return Number(text);
}

export function parseBoolean(flag: string, value: string | boolean): boolean {
  if (typeof value === 'boolean') return value;
  const normalised = value.toLowerCase();
  if (['true', 't', '1', 'yes'].includes(normalised)) return true;
  if (['false', 'f', '0', 'no'].includes(normalised)) return false;
  throw new ConfigError(`--${flag}: '${value}' is not a boolean (true or false)`);
}

// "localhost:8000", ":8000" (all interfaces, as in Go) or "[::1]:8000".
export function parseHostPort(flag: string, text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new ConfigError(`--${flag}: '${text}' is not host:port`);
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port };
}
