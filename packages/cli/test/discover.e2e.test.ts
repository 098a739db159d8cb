import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sox } from './helpers/audio.js';
import { CliProcess, fixture, repoRoot } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';

/*
 * Real mDNS between two network namespaces joined by a veth pair (as in
 * packages/server/test/discovery-mdns.test.ts): `imv serve` announces in namespace A, and
 * `imv discover` / `imv --discover …` run in namespace B. Needs root / CAP_NET_ADMIN and iproute2.
 */

const run = promisify(execFile);
const bin = path.join(repoRoot, 'packages/cli/bin/imv.js');
const suffix = String(process.pid);
const NS_A = `imvc-a-${suffix}`;
const NS_B = `imvc-b-${suffix}`;
const IF_A = `imvca${suffix}`;
const IF_B = `imvcb${suffix}`;
const ADDRESS_A = '10.78.0.1';
const ADDRESS_B = '10.78.0.2';

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function createNamespaces(): Promise<void> {
  try {
    await ip('netns', 'add', NS_A);
    await ip('netns', 'add', NS_B);
  } catch (err) {
    throw new Error(
      `cannot create network namespaces (${String(err)}): this test needs root or CAP_NET_ADMIN and iproute2`,
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

/** Runs `imv …args` inside a namespace; `hostname` gives it its own UTS namespace and host name (its mDNS name). */
function spawnIn(
  ns: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; hostname?: string } = {},
): CliProcess {
  const command = [process.execPath, bin, ...args];
  const argv =
    options.hostname === undefined
      ? ['netns', 'exec', ns, ...command]
      : [
          'netns',
          'exec',
          ns,
          'unshare',
          '--uts',
          'sh',
          '-c',
          `hostname ${options.hostname} && exec "$@"`,
          'sh',
          ...command,
        ];
  const child = spawn('ip', argv, {
    cwd: repoRoot,
    env: { ...process.env, IMV_SERVER: '', ...options.env },
    stdio: 'pipe',
  });
  child.stdin.end();
  return new CliProcess(child);
}

interface Served {
  process: CliProcess;
  fingerprint: string;
}

describe('imv discover and --discover over real mDNS', () => {
  let tmp: string;
  let clip: string;
  let env: NodeJS.ProcessEnv;
  const servers: Served[] = [];

  async function serve(name: string, port: number, httpsPort: number): Promise<Served> {
    const proc = spawnIn(
      NS_A,
      [
        'serve',
        '--port',
        String(port),
        '--https-port',
        String(httpsPort),
        '--data',
        path.join(tmp, name),
        '--log-level',
        'warn',
      ],
      { hostname: name },
    );
    const served = { process: proc, fingerprint: '' };
    servers.push(served);
    const match = await proc.waitForStdout(/Server fingerprint \(SHA-256\): ([0-9A-F:]{95})/);
    served.fingerprint = match[1]!;
    return served;
  }

  const imvInB = (args: string[]): Promise<CliResult> => spawnIn(NS_B, args, { env }).exited;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-discover-'));
    clip = path.join(tmp, 'clip.wav');
    sox([fixture('speech-en-48k.wav'), clip, 'trim', '0.5', '0.6']);
    env = { IMV_CONFIG_DIR: path.join(tmp, 'config') };
    await createNamespaces();
  });

  afterAll(async () => {
    for (const s of servers) await s.process.stop();
    // Deleting a namespace also deletes the veth end inside it, and so the pair.
    for (const ns of [NS_A, NS_B]) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  });

  it('says clearly when no server answers, exit 1', async () => {
    const none = await imvInB(['--discover', 'history', '--room', 'lan']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(
      /^imv: --discover: no imv server answered on the local network within 2\.0 s; /,
    );
    const listed = await imvInB(['discover', '--timeout', '1']);
    expect(listed).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'imv: no imv server answered within 1 s\n',
    });
  });

  it('lists the server imv serve announces, and --discover sends to it over pinned https', async () => {
    const kitchen = await serve('kitchen', 8080, 8443);
    const listed = await imvInB(['discover', '--timeout', '1.5', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const found = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; url: string; fingerprint: string });
    expect(found).toEqual([
      expect.objectContaining({
        name: 'kitchen',
        url: `https://${ADDRESS_A}:8443`,
        fingerprint: kitchen.fingerprint,
      }),
    ]);

    const table = await imvInB(['discover', '--timeout', '1.5']);
    expect(table.stdout).toMatch(
      new RegExp(
        `^NAME\\s+URL\\s+FINGERPRINT \\(SHA-256\\)\\nkitchen\\s+https://${ADDRESS_A}:8443\\s+${kitchen.fingerprint}\\n$`,
      ),
    );

    const sent = await imvInB(['--discover', 'send', clip, '--room', 'lan', '--fast']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^sent message 1 to lan /);
    // First use of that https server: pinned, with the fingerprint `imv discover` showed.
    expect(sent.stderr).toContain(
      `first connection to wss://${ADDRESS_A}:8443: trusting its certificate, SHA-256 ${kitchen.fingerprint}`,
    );
  });

  it('with two servers, --discover takes the first by name and names the other', async () => {
    await serve('garage', 8081, 8444);
    const history = await imvInB(['--discover', 'history', '--room', 'lan', '--json']);
    expect(history.code, history.stderr).toBe(0);
    const [warning, pinned] = history.stderr.split('\n');
    expect(warning).toBe(
      `imv: warning: 2 imv servers found; using garage (https://${ADDRESS_A}:8444). Others: kitchen (https://${ADDRESS_A}:8443). Pass --server to choose.`,
    );
    expect(pinned).toContain(
      `imv: first connection to https://${ADDRESS_A}:8444: trusting its certificate, SHA-256 ${servers[1]!.fingerprint}`,
    );
    expect(history.stdout).toBe('');
  });
});
