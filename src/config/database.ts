import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

// Where the database comes from: a URL (flag, TREX_DB_URL or DATABASE_URL), rh-trex's secret files, or,
// in development only, an embedded PostgreSQL whose data lives in `dir`.
export type DatabaseSource =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dir: string };

export interface DatabaseSettings {
  readonly environment: string;
  readonly url: string | undefined;
  readonly hostFile: string;
  readonly portFile: string;
  readonly userFile: string;
  readonly passwordFile: string;
  readonly nameFile: string;
  readonly sslmode: string;
  readonly rootcert: string;
  readonly embeddedDir: string;
}

export function resolveDatabase(settings: DatabaseSettings): DatabaseSource {
  if (settings.url) return { kind: 'url', url: settings.url };
  if (existsSync(settings.hostFile)) return { kind: 'url', url: urlFromSecretFiles(settings) };
  if (settings.environment === 'production') {
    throw new ConfigError(
      'no database configured: set --db-url, DATABASE_URL or the --db-*-file flags (production never starts an embedded database)',
    );
  }
  return { kind: 'embedded', dir: settings.embeddedDir };
}

function urlFromSecretFiles(settings: DatabaseSettings): string {
  const read = (file: string, required: boolean): string => {
    if (!existsSync(file)) {
      if (required) throw new ConfigError(`database secret file '${file}' is missing`);
      return '';
    }
    return readFileSync(file, 'utf8').trim();
  };
  const url = new URL('postgres://localhost');
  url.hostname = read(settings.hostFile, true);
  url.port = read(settings.portFile, false) || '5432';
  url.username = encodeURIComponent(read(settings.userFile, true));
  url.password = encodeURIComponent(read(settings.passwordFile, false));
  url.pathname = `/${encodeURIComponent(read(settings.nameFile, true))}`;
  url.searchParams.set('sslmode', settings.sslmode);
  if (settings.sslmode.startsWith('verify') && existsSync(settings.rootcert)) {
    url.searchParams.set('sslrootcert', settings.rootcert);
  }
  return url.toString();
}
