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
export function reachableUrls(host: string, port: number): string[] {
  if (!WILDCARD_HOSTS.has(host)) return [`http://${hostForUrl(host)}:${port}`];
  const urls = [`http://localhost:${port}`];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const info of addresses ?? []) {
      if (info.internal) continue;
      if (
        info.family === 'IPv6' &&
        (host !== '::' || info.address.toLowerCase().startsWith('fe80'))
      )
        continue;
      urls.push(`http://${hostForUrl(info.address)}:${port}`);
    }
  }
  return urls;
}

/** The URL this machine itself should use: loopback for a wildcard bind. */
export function localUrl(host: string, port: number): string {
  return WILDCARD_HOSTS.has(host)
    ? `http://127.0.0.1:${port}`
    : `http://${hostForUrl(host)}:${port}`;
}
