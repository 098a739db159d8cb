import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, startServe } from '@imv/test-support/cli';
import type { ServeProcess } from '@imv/test-support/cli';

/** imv serve with its own HTTPS listener and generated local CA; its https port and fingerprint from the banner. */
async function serveHttps(
  dataDir: string,
  httpsPort = 0,
): Promise<{ serve: ServeProcess; url: string; port: number; fingerprint: string }> {
  const serve = await startServe(dataDir, { args: ['--https-port', String(httpsPort)] });
  const [, port] = await serve.process.waitForStdout(/\n\s*https:\/\/127\.0\.0\.1:(\d+)/);
  const [, fingerprint] = await serve.process.waitForStdout(
    /Server fingerprint \(SHA-256\): ([0-9A-F:]{95})/,
  );
  return { serve, url: `https://127.0.0.1:${port}`, port: Number(port), fingerprint: fingerprint! };
}

describe("imv over the server's own https, with a pinned certificate", () => {
  let tmp: string;
  let clip: string;
  let env: NodeJS.ProcessEnv;
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-https-'));
    clip = path.join(tmp, 'clip.wav');
    sox([fixturePath('speech-en-48k.wav'), clip, 'trim', '0.5', '1']);
    env = { IMV_CONFIG_DIR: path.join(tmp, 'config') };
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('pins on first use, refuses the certificate of a server with a new CA, and --trust-new accepts it', async () => {
    const first = await serveHttps(path.join(tmp, 'data-a'));
    servers.push(first.serve);
    const listed = await runCli(['history', '--room', 'tls', '--server', first.url], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe('no messages in room tls\n');
    expect(listed.stderr).toContain(
      `imv: first connection to ${first.url}: trusting its certificate, SHA-256 ${first.fingerprint}`,
    );
    const knownHosts = JSON.parse(
      await readFile(path.join(tmp, 'config', 'known_hosts.json'), 'utf8'),
    ) as {
      hosts: Record<string, { fingerprintSha256: string }>;
    };
    expect(knownHosts.hosts[`127.0.0.1:${first.port}`]?.fingerprintSha256).toBe(first.fingerprint);

    // The WebSocket (wss) uses the same pin: no notice the second time.
    const sent = await runCli(['send', clip, '--room', 'tls', '--fast', '--server', first.url], {
      env,
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toMatch(/^sent message 1 to tls /);

    // Same address, another data dir: a new CA and certificate. Refused loudly, nothing sent.
    await first.serve.stop();
    const second = await serveHttps(path.join(tmp, 'data-b'), first.port);
    servers.push(second.serve);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    const refused = await runCli(['send', clip, '--room', 'tls', '--fast', '--server', first.url], {
      env,
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      `imv: the certificate of wss://127.0.0.1:${first.port} CHANGED since the first connection.`,
    );
    expect(refused.stderr).toContain(`  pinned:    ${first.fingerprint}`);
    expect(refused.stderr).toContain(`  presented: ${second.fingerprint}`);
    const history = await runCli(['history', '--room', 'tls', '--json', '--server', first.url], {
      env,
    });
    expect(history.code).toBe(1);
    expect(history.stderr).toContain('CHANGED');

    const trusted = await runCli(
      ['--trust-new', 'history', '--room', 'tls', '--server', first.url],
      { env },
    );
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stderr).toContain('--trust-new');
    expect(trusted.stdout).toBe('no messages in room tls\n');
    const after = await runCli(['history', '--room', 'tls', '--server', first.url], { env });
    expect(after).toMatchObject({ code: 0, stderr: '' });
  });

  it("with --ca (the server's ca.crt), listens and downloads over https without pinning anything", async () => {
    const dataDir = path.join(tmp, 'data-ca');
    const server = await serveHttps(dataDir);
    servers.push(server.serve);
    const config = { IMV_CONFIG_DIR: path.join(tmp, 'config-ca') };
    const caFile = path.join(dataDir, 'tls', 'ca.crt');
    const sent = await runCli(
      ['--ca', caFile, 'send', clip, '--room', 'tls', '--fast', '--server', server.url],
      { env: config },
    );
    expect(sent.code, sent.stderr).toBe(0);
    const out = path.join(tmp, 'inbox');
    const heard = await runCli(
      [
        '--ca',
        caFile,
        'listen',
        '--room',
        'tls',
        '--since',
        'all',
        '--count',
        '1',
        '--json',
        '--out',
        out,
        '--server',
        server.url,
      ],
      { env: config },
    );
    expect(heard.code, heard.stderr).toBe(0);
    expect(heard.stderr).toBe('');
    const { path: saved } = JSON.parse(heard.stdout) as { path: string };
    expect(compareOgg(soxSamples(clip), await readFile(saved)).correlation).toBeGreaterThanOrEqual(
      0.9,
    );
    await expect(readFile(path.join(tmp, 'config-ca', 'known_hosts.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
