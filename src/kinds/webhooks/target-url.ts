import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { validationFailed } from '../../errors/catalogue.ts';

// How long creating a webhook waits for its host to resolve.
const lookupTimeoutMs = 3000;

// Whether an operator's --webhook-allowed-hosts entry admits a URL: `host` admits the host on any port,
// `host:port` that port only, `*.domain` any host below the domain (not the domain itself).
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  // WHATWG URLs are normalised (lower case, 127.1 is 127.0.0.1, IPv6 in brackets), so entries are
  // compared with the host as it will be connected to.
  const host = url.hostname;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => {
    if (entry.startsWith('*.')) return host.endsWith(entry.slice(1));
    return entry === host || entry === `[${host}]` || entry === `${host}:${port}`;
  });
}

// A webhook target as creation checks it (400 code 8 naming the field): an absolute http(s) URL
// without credentials, whose host the operator allows and which resolves. Deliveries check the
// allow-list again, since it may have shrunk since.
export async function checkTargetUrl(text: string, allowedHosts: readonly string[]): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw validationFailed(`url '${text}' is not a valid absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw validationFailed(`url must use http or https, not '${url.protocol.slice(0, -1)}'`);
  }
  if (url.username !== '' || url.password !== '') throw validationFailed('url must not contain credentials');
  if (!hostAllowed(url, allowedHosts)) {
    throw validationFailed(
      allowedHosts.length === 0
        ? 'url cannot be used: no webhook targets are allowed (the operator sets --webhook-allowed-hosts)'
        : `url host '${url.host}' is not among the allowed webhook hosts`,
    );
  }
  if (!(await resolves(url.hostname))) {
    throw validationFailed(`url host '${url.hostname}' cannot be resolved`);
  }
  return url;
}

async function resolves(hostname: string): Promise<boolean> {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), lookupTimeoutMs);
  });
  try {
    return await Promise.race([lookup(bare).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
