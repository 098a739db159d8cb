import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatTable } from '../format.js';
import { findServers, serverUrl } from '../discovery.js';

interface DiscoverOptions {
  timeout: number;
  json?: boolean;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds > 0) || seconds > 60) {
    throw new InvalidArgumentError('expected a number of seconds above 0, at most 60.');
  }
  return seconds;
}

/** `imv discover`: the imv servers announced on the LAN (mDNS / DNS-SD `_imv._tcp`). */
export function registerDiscover(program: Command): void {
  program
    .command('discover')
    .description('list the imv servers on the local network (mDNS)')
    .option('-t, --timeout <seconds>', 'how long to listen for answers', parseSeconds, 3)
    .option('--json', 'one JSON object per server')
    .addHelpText(
      'after',
      `
Examples:
  $ imv discover
  $ imv send hello.wav --room crew --discover      use the server found`,
    )
    .action(async (options: DiscoverOptions) => {
      const found = await findServers(options.timeout * 1000);
      if (options.json === true) {
        for (const s of found)
          process.stdout.write(`${JSON.stringify({ ...s, url: serverUrl(s) })}\n`);
        return;
      }
      if (found.length === 0) {
        process.stderr.write(`imv: no imv server answered within ${options.timeout} s\n`);
        process.exitCode = 1;
        return;
      }
      const rows = found.map((s) => [s.name, serverUrl(s), s.fingerprint ?? '-']);
      process.stdout.write(`${formatTable(['NAME', 'URL', 'FINGERPRINT (SHA-256)'], rows)}\n`);
    });
}
