import { networkInterfaces } from 'node:os';

/**
 * The LAN addresses other devices can reach this machine on: every non-internal IPv4 and IPv6
 * address. Link-local ones (169.254/16, fe80::/10) are left out: they change per boot or need a
 * zone id ('%eth0') that URLs and certificates cannot carry.
 */
export function listMachineAddresses(): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4' && !info.address.startsWith('169.254.')) out.add(info.address);
      if (info.family === 'IPv6' && !/^fe[89ab]/i.test(info.address)) out.add(info.address);
    }
  }
  return [...out];
}
