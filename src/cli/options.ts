import { Option, type Command as Program } from 'commander';
import type { Logger } from 'pino';
import type { Config, RawOptions } from '../config/config.ts';
import {
  type Command,
  environmentVariable,
  type OptionKey,
  type OptionSpec,
  options,
} from '../config/options.ts';
import { createLogger } from '../observability/logger.ts';

// Adds the flags of one command, in rh-trex's forms: `--flag value`, `--flag=value`, and for booleans
// a bare `--flag` or `--flag=false`. No commander defaults: an unset flag falls back to its TREX_*
// variable and then to the default, which config.ts applies.
export function addOptions(program: Program, command: Command): Program {
  for (const spec of Object.values(options) as OptionSpec[]) {
    if (!spec.commands.includes(command)) continue;
    const help = `${spec.help} [${environmentVariable(spec.flag)}]${defaultText(spec)}`;
    const option =
      spec.type === 'boolean'
        ? new Option(`--${spec.flag} [bool]`, help).preset(true)
        : new Option(`--${spec.flag} <${spec.type === 'list' ? 'a,b,...' : spec.type}>`, help);
    program.addOption(option);
  }
  return program;
}

export function rawOptions(values: Record<string, unknown>): RawOptions {
  const raw: RawOptions = {};
  for (const key of Object.keys(options) as OptionKey[]) {
    const value = values[key];
    if (typeof value === 'string' || typeof value === 'boolean') raw[key] = value;
  }
  return raw;
}

function defaultText(spec: OptionSpec): string {
  if (spec.default === undefined || spec.default === '') return '';
  const value = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
  return value === '' ? '' : ` (default: ${value})`;
}

// Pretty lines when a person watches a terminal in development, JSON lines everywhere else.
export function commandLogger(config: Config): Logger {
  return createLogger(config.logLevel, config.environment === 'development' && process.stdout.isTTY);
}
