import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../config/errors.ts';
import { wholeValuePattern } from './claims.ts';

export const verbs = ['list', 'get', 'create', 'update', 'delete'] as const;
export type Verb = (typeof verbs)[number];

export interface AclEntry {
  readonly claim: string;
  readonly pattern: RegExp;
}

export interface PolicyRule {
  readonly claim: string | undefined; // absent: every authenticated caller
  readonly pattern: RegExp;
  readonly kinds: readonly string[]; // Kind names, or '*'
  readonly verbs: readonly string[]; // verbs, or '*'
  readonly allTenants: boolean; // a caller it matches sees every tenant's rows (an administrator)
}

// `--acl-file`: a YAML list of `{claim, pattern}`.
export function loadAcl(path: string): AclEntry[] {
  return listIn(path).map((entry, index) => ({
    claim: text(entry, 'claim', path, index),
    pattern: pattern(entry, path, index),
  }));
}

// `--authz-policy-file`: a YAML list of `{claim, pattern, kinds, verbs, allTenants}` (or `{rules: [...]}`).
export function loadPolicy(path: string): PolicyRule[] {
  return listIn(path).map((entry, index) => {
    const verbsGiven = strings(entry, 'verbs', path, index);
    const unknown = verbsGiven.filter((verb) => verb !== '*' && !(verbs as readonly string[]).includes(verb));
    if (unknown.length > 0)
      throw new ConfigError(`${path}: rule ${index + 1} has unknown verbs ${unknown.join(', ')}`);
    // A pattern without a claim would match nothing and grant everyone; an administrator must be named.
    if (entry.claim === undefined && (entry.pattern !== undefined || entry.allTenants === true)) {
      throw new ConfigError(
        `${path}: rule ${index + 1} has ${entry.pattern !== undefined ? "a 'pattern'" : "'allTenants'"} but no 'claim' it applies to`,
      );
    }
    return {
      claim: entry.claim === undefined ? undefined : text(entry, 'claim', path, index),
      pattern: entry.pattern === undefined ? /^/ : pattern(entry, path, index),
      kinds: strings(entry, 'kinds', path, index),
      verbs: verbsGiven,
      allTenants: flag(entry, 'allTenants', path, index),
    };
  });
}

type Entry = Record<string, unknown>;

function listIn(path: string): Entry[] {
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const list =
    document !== null && typeof document === 'object' && 'rules' in document ? document.rules : document;
  if (!Array.isArray(list) || list.some((entry) => entry === null || typeof entry !== 'object')) {
    throw new ConfigError(`${path}: expected a list of entries`);
  }
  return list as Entry[];
}

function text(entry: Entry, key: string, path: string, index: number): string {
  const value = entry[key];
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`${path}: entry ${index + 1} needs a '${key}'`);
  return value;
}

function strings(entry: Entry, key: string, path: string, index: number): string[] {
  const value = entry[key];
  if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string')) {
    throw new ConfigError(`${path}: entry ${index + 1} needs '${key}' as a list of names`);
  }
  return value as string[];
}

function flag(entry: Entry, key: string, path: string, index: number): boolean {
  const value = entry[key] ?? false;
  if (typeof value !== 'boolean')
    throw new ConfigError(`${path}: entry ${index + 1} has '${key}' that is not true or false`);
  return value;
}

function pattern(entry: Entry, path: string, index: number): RegExp {
  const source = text(entry, 'pattern', path, index);
  try {
    return wholeValuePattern(source);
  } catch {
    throw new ConfigError(`${path}: entry ${index + 1} has an invalid pattern '${source}'`);
  }
}
