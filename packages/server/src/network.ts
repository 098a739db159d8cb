import { networkInterfaces } from 'node:os';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * Every http URL the server can be reached at. Bound to a wildcard address, that is localhost plus
 * each non-internal address of the machine (IPv6 only when bound to '::'); link-local IPv6 is left
 * out because browsers cannot use zone ids in URLs.
 */
export function reachableUrls(host: string, port: number, scheme = 'http'): string[] {
  if (!WILDCARD_HOSTS.has(host)) return [`${scheme}://${hostForUrl(host)}:${port}`];
  const urls = [`${scheme}://localhost:${port}`];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.internal) continue;
      if (
        info.family === 'IPv6' &&
        (host !== '::' || info.address.toLowerCase().startsWith('fe80'))
      )
        continue;
      urls.push(`${scheme}://${hostForUrl(info.address)}:${port}`);
    }
  }
  return urls;
}

/** The URL this machine itself should use: loopback for a wildcard bind. */
export function localUrl(host: string, port: number, scheme = 'http'): string {
  return WILDCARD_HOSTS.has(host)
    ? `${scheme}://127.0.0.1:${port}`
    : `${scheme}://${hostForUrl(host)}:${port}`;
}

const LOOPBACK_URL = /^https?:\/\/(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/i;

/** The https URLs other devices can use: reachableUrls without the loopback ones. */
export function lanHttpsUrls(host: string, port: number): string[] {
  return reachableUrls(host, port, 'https').filter((u) => !LOOPBACK_URL.test(u));
}
