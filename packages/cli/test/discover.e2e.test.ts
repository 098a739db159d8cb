import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sox } from './helpers/audio.js';
import { fixturePath, repoRoot } from '@imv/test-support';
import { CliProcess, imvBin } from '@imv/test-support/cli';
import { createNamespacePair, spawnIn } from '@imv/test-support/netns';
import type { NamespacePair } from '@imv/test-support/netns';
import type { CliResult } from '@imv/test-support/cli';

/*
 * Real mDNS between two network namespaces joined by a veth pair (as in
 * packages/server/test/discovery-mdns.test.ts): `imv serve` announces in namespace A, and
 * `imv discover` / `imv --discover …` run in namespace B. Needs root / CAP_NET_ADMIN and iproute2.
 */

const ADDRESS_A = '10.78.0.1';
let link: NamespacePair | undefined;

/** Runs `imv …args` inside a namespace; `hostname` gives it its own UTS namespace and host name (its mDNS name). */
function spawnImvIn(
  ns: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; hostname?: string } = {},
): CliProcess {
  const command = [process.execPath, imvBin, ...args];
  const argv =
    options.hostname === undefined
      ? command
      : [
          'unshare',
          '--uts',
          'sh',
          '-c',
          `hostname ${options.hostname} && exec "$@"`,
          'sh',
          ...command,
        ];
  const child = spawnIn(ns, argv, {
    cwd: repoRoot,
    env: { ...process.env, IMV_SERVER: '', ...options.env },
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
    const proc = spawnImvIn(
      link!.a.ns,
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

  const imvInB = (args: string[]): Promise<CliResult> =>
    spawnImvIn(link!.b.ns, args, { env }).exited;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-discover-'));
    clip = path.join(tmp, 'clip.wav');
    sox([fixturePath('speech-en-48k.wav'), clip, 'trim', '0.5', '0.6']);
    env = { IMV_CONFIG_DIR: path.join(tmp, 'config') };
    link = await createNamespacePair({ tag: 'c', subnet: '10.78.0' });
  });

  afterAll(async () => {
    for (const s of servers) await s.process.stop();
    await link?.remove();
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
