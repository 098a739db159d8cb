import type { DiscoveredServer } from '@imv/server/discovery';
import { CliError } from './cli-error.js';

/** One imv server found on the LAN (the server's discovery module, `_imv._tcp` over mDNS). */
export type FoundServer = DiscoveredServer;

/** How long `--discover` listens for answers; mDNS answers come within about a second. */
export const DISCOVER_FLAG_TIMEOUT_MS = 2000;

/** Lists the imv servers that answer on the LAN within `timeoutMs`, sorted by name. */
export async function findServers(timeoutMs: number): Promise<FoundServer[]> {
  // The announce/discover code lives with the server; only that module is loaded, not the whole server.
  const { discover } = await import('@imv/server/discovery');
  const errors: string[] = [];
  const found = await discover({ timeoutMs, onError: (err) => errors.push(String(err)) });
  if (found.length === 0 && errors.length > 0) {
    throw new CliError(`mDNS discovery failed: ${errors[0]} (is there a network with multicast?)`);
  }
  return found;
}

/** The URL without the trailing slash the discovery module adds (the CLI's URLs have none). */
export function serverUrl(server: FoundServer): string {
  return server.url.replace(/\/+$/, '');
}

/**
 * The server `--discover` picks: the only one, or the first (by name) with a warning naming the
 * others; none is an error. With the fingerprint it announced, checked on first connection.
 */
export async function discoverServer(
  timeoutMs: number = DISCOVER_FLAG_TIMEOUT_MS,
): Promise<{ url: string; fingerprint?: string }> {
  const found = await findServers(timeoutMs);
  const first = found[0];
  if (first === undefined) {
    throw new CliError(
      `--discover: no imv server answered on the local network within ${(timeoutMs / 1000).toFixed(1)} s; ` +
        'is one running (imv serve, not bound to 127.0.0.1 and without --no-mdns)? Or pass --server <url>',
    );
  }
  if (found.length > 1) {
    const others = found.slice(1).map((s) => `${s.name} (${serverUrl(s)})`);
    process.stderr.write(
      `imv: warning: ${found.length} imv servers found; using ${first.name} (${serverUrl(first)}). ` +
        `Others: ${others.join(', ')}. Pass --server to choose.\n`,
    );
  }
  return {
    url: serverUrl(first),
    ...(first.fingerprint !== undefined ? { fingerprint: first.fingerprint } : {}),
  };
}
