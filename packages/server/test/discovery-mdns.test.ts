import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredServer } from '../src/discovery/index.js';
import { tsxCommand } from '@imv/test-support';
import { createNamespacePair, execIn, ip, spawnIn } from '@imv/test-support/netns';
import type { NamespacePair } from '@imv/test-support/netns';

/*
 * Real multicast between two network namespaces joined by a veth pair, so the announcer and the
 * browser are two hosts on one private link (10.77.0.0/24 exists only inside these namespaces).
 * Needs root / CAP_NET_ADMIN and iproute2; without them the test fails and says so.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const discoveryModule = pathToFileURL(path.resolve(here, '../src/discovery/index.ts')).href;

const ADDRESS_A = '10.77.0.1';
const ADDRESS_B = '10.77.0.2';
const FINGERPRINT = Array.from({ length: 32 }, (_, i) =>
  i.toString(16).padStart(2, '0').toUpperCase(),
).join(':');

let scriptsDir: string;
interface Announcer {
  child: ChildProcessWithoutNullStreams;
  lines: AsyncIterator<string, undefined>;
}
const announcers: Announcer[] = [];
let announcer: Announcer;
let link: NamespacePair | undefined;

async function discoverIn(
  ns: string,
  timeoutMs: number,
  interfaceAddress?: string,
): Promise<DiscoveredServer[]> {
  const script = path.join(scriptsDir, 'discover.mts');
  const { stdout } = await execIn(ns, [
    ...tsxCommand,
    script,
    String(timeoutMs),
    ...(interfaceAddress ? [interfaceAddress] : []),
  ]);
  return JSON.parse(stdout) as DiscoveredServer[];
}

async function nextLine(from: Announcer): Promise<string> {
  const result = await from.lines.next();
  if (result.done === true) throw new Error('the announcer exited early');
  return result.value;
}

/** Runs an announcer in namespace A and waits until it has published. */
async function startAnnouncer(name: string, interfaceAddress?: string): Promise<Announcer> {
  const script = path.join(scriptsDir, 'announce.mts');
  const child = spawnIn(link!.a.ns, [
    ...tsxCommand,
    script,
    name,
    ...(interfaceAddress ? [interfaceAddress] : []),
  ]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]() as AsyncIterator<
    string,
    undefined
  >;
  const started = { child, lines };
  announcers.push(started);
  expect(await nextLine(started)).toBe('announced');
  return started;
}

beforeAll(async () => {
  scriptsDir = await mkdtemp(path.join(tmpdir(), 'imv-mdns-'));
  await writeFile(
    path.join(scriptsDir, 'announce.mts'),
    `import { createInterface } from 'node:readline';
import { announce } from ${JSON.stringify(discoveryModule)};
const [name, interfaceAddress] = process.argv.slice(2);
const a = name === 'imv on kitchen-pc'
  ? announce({ name, port: 8080, httpsPort: 8443, fingerprint: ${JSON.stringify(FINGERPRINT)}, protocol: 1, version: '0.1.0', host: 'kitchen-pc.local' })
  : announce({ name, port: 8081, protocol: 1, interfaceAddress });
console.log('announced');
// Keep running after stop(): what is found afterwards must come from goodbye handling, not a dead process.
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') { await a.stop(); console.log('stopped'); }
}
`,
  );
  await writeFile(
    path.join(scriptsDir, 'discover.mts'),
    `import { discover } from ${JSON.stringify(discoveryModule)};
const [timeoutMs, interfaceAddress] = process.argv.slice(2);
process.stdout.write(JSON.stringify(await discover({ timeoutMs: Number(timeoutMs), interfaceAddress })));
`,
  );
  link = await createNamespacePair({ tag: '', subnet: '10.77.0' });
  announcer = await startAnnouncer('imv on kitchen-pc');
});

afterAll(async () => {
  for (const { child } of announcers) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill();
    await once(child, 'exit');
  }
  await link?.remove();
  await rm(scriptsDir, { recursive: true, force: true });
});

describe('mDNS announce / discover across two network namespaces', () => {
  it('finds the announced server with its name, address, ports and TXT record', async () => {
    const found = await discoverIn(link!.b.ns, 1500);
    expect(found).toHaveLength(1);
    const server = found[0]!;
    expect(server).toMatchObject({
      name: 'imv on kitchen-pc',
      host: 'kitchen-pc.local',
      port: 8080,
      httpsPort: 8443,
      fingerprint: FINGERPRINT,
      protocol: 1,
      version: '0.1.0',
      url: `https://${ADDRESS_A}:8443/`,
    });
    expect(server.addresses[0]).toBe(ADDRESS_A);
  });

  it('finds nothing once the announcement is stopped', async () => {
    announcer.child.stdin.write('stop\n');
    expect(await nextLine(announcer)).toBe('stopped');
    expect(announcer.child.exitCode).toBeNull();
    expect(await discoverIn(link!.b.ns, 1000)).toEqual([]);
  });

  it('works on a link with no routes when given the interface address', async () => {
    for (const { ns, iface } of [link!.a, link!.b]) {
      await ip('-n', ns, 'route', 'del', 'default', 'dev', iface);
    }
    // Without a route to 224.0.0.251 and no interface named, queries cannot leave B.
    await startAnnouncer('imv on garage-pc', ADDRESS_A);
    const found = await discoverIn(link!.b.ns, 1500, ADDRESS_B);
    expect(found.map((s) => [s.name, s.port, s.url])).toEqual([
      ['imv on garage-pc', 8081, `http://${ADDRESS_A}:8081/`],
    ]);
    expect(found[0]?.httpsPort).toBeUndefined();
    expect(found[0]?.fingerprint).toBeUndefined();
  });
});
