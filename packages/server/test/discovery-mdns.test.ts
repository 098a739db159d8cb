import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredServer } from '../src/discovery/index.js';

/*
 * Real multicast between two network namespaces joined by a veth pair, so the announcer and the
 * browser are two hosts on one private link (10.77.0.0/24 exists only inside these namespaces).
 * Needs root / CAP_NET_ADMIN and iproute2; without them the test fails and says so.
 */

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const discoveryModule = pathToFileURL(path.resolve(here, '../src/discovery/index.ts')).href;

const suffix = String(process.pid);
const NS_A = `imv-a-${suffix}`;
const NS_B = `imv-b-${suffix}`;
const IF_A = `imva${suffix}`;
const IF_B = `imvb${suffix}`;
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

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function createNamespaces(): Promise<void> {
  try {
    await ip('netns', 'add', NS_A);
    await ip('netns', 'add', NS_B);
  } catch (err) {
    throw new Error(
      `cannot create network namespaces (${String(err)}): the mDNS test needs root or CAP_NET_ADMIN and iproute2 (apt-get install -y iproute2)`,
      { cause: err },
    );
  }
  await ip('link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B);
  for (const [ns, iface, address] of [
    [NS_A, IF_A, ADDRESS_A],
    [NS_B, IF_B, ADDRESS_B],
  ] as const) {
    await ip('link', 'set', iface, 'netns', ns);
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface);
    await ip('-n', ns, 'link', 'set', iface, 'up', 'multicast', 'on');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    // Like a LAN with a router: the default route is how 224.0.0.251 finds the interface.
    await ip('-n', ns, 'route', 'add', 'default', 'dev', iface);
  }
}

async function discoverIn(
  ns: string,
  timeoutMs: number,
  interfaceAddress?: string,
): Promise<DiscoveredServer[]> {
  const script = path.join(scriptsDir, 'discover.mts');
  const args = [
    'netns',
    'exec',
    ns,
    tsx,
    script,
    String(timeoutMs),
    ...(interfaceAddress ? [interfaceAddress] : []),
  ];
  const { stdout } = await run('ip', args);
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
  const child = spawn('ip', [
    'netns',
    'exec',
    NS_A,
    tsx,
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
  await createNamespaces();
  announcer = await startAnnouncer('imv on kitchen-pc');
});

afterAll(async () => {
  for (const { child } of announcers) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill();
    await once(child, 'exit');
  }
  // Deleting a namespace also deletes the veth end inside it, and so the pair.
  for (const ns of [NS_A, NS_B]) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  await rm(scriptsDir, { recursive: true, force: true });
});

describe('mDNS announce / discover across two network namespaces', () => {
  it('finds the announced server with its name, address, ports and TXT record', async () => {
    const found = await discoverIn(NS_B, 1500);
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
    expect(await discoverIn(NS_B, 1000)).toEqual([]);
  });

  it('works on a link with no routes when given the interface address', async () => {
    for (const [ns, iface] of [
      [NS_A, IF_A],
      [NS_B, IF_B],
    ] as const) {
      await ip('-n', ns, 'route', 'del', 'default', 'dev', iface);
    }
    // Without a route to 224.0.0.251 and no interface named, queries cannot leave B.
    await startAnnouncer('imv on garage-pc', ADDRESS_A);
    const found = await discoverIn(NS_B, 1500, ADDRESS_B);
    expect(found.map((s) => [s.name, s.port, s.url])).toEqual([
      ['imv on garage-pc', 8081, `http://${ADDRESS_A}:8081/`],
    ]);
    expect(found[0]?.httpsPort).toBeUndefined();
    expect(found[0]?.fingerprint).toBeUndefined();
  });
});
