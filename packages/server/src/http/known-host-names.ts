import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { ServerConfig } from '../config.js';
import { certificateNames } from '../tls/certificates.js';
import type { ServerCredentials } from '../tls/server-credentials.js';
import { AllowedHosts } from './allowed-hosts.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * The names a LAN user or the operator can reach this server by: localhost, the machine's host name
 * and its mDNS `.local` name, every name in the https certificate (the generated one or the
 * operator's own), the bound host when it is a name, and `publicHosts` (a reverse proxy's or a DNS
 * name). IP addresses are always accepted (allowed-hosts.ts).
 */
export function knownHostNames(
  config: Pick<ServerConfig, 'host' | 'publicHosts'>,
  credentials: ServerCredentials | undefined,
): AllowedHosts {
  const allowed = new AllowedHosts(['localhost']);
  const addName = (name: string): void => {
    try {
      allowed.add(name);
    } catch {
      // A host name like "my_pc" cannot be typed into a URL anyway.
    }
  };
  const own = hostname().toLowerCase();
  addName(own);
  if (!own.includes('.')) addName(`${own}.local`);
  if (!WILDCARD_HOSTS.has(config.host) && isIP(config.host) === 0) addName(config.host);
  if (credentials !== undefined) {
    const names = credentials.local ?? certificateNames(credentials.chainPem);
    for (const name of names.dnsNames) addName(name);
  }
  for (const name of config.publicHosts) allowed.add(name);
  return allowed;
}
