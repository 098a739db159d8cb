import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureCertificates } from '../../server/src/tls/index.js';
import type { Certificates } from '../../server/src/tls/index.js';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixture, runCli } from './helpers/cli.js';
import { startServe } from './helpers/server.js';
import type { ServeProcess } from './helpers/server.js';

/** A TLS terminator in front of the real server, as a reverse proxy would be. */
async function startTlsProxy(certs: Certificates, targetPort: number, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const proxy = tls.createServer({ key: certs.keyPem, cert: certs.chainPem }, (socket) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  });
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}

describe('imv over https with a pinned certificate', () => {
  let tmp: string;
  let server: ServeProcess;
  let clip: string;
  let certsA: Certificates;
  let certsB: Certificates;
  let env: NodeJS.ProcessEnv;
  let proxy: { port: number; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-https-'));
    server = await startServe(path.join(tmp, 'data'));
    clip = path.join(tmp, 'clip.wav');
    sox([fixture('speech-en-48k.wav'), clip, 'trim', '0.5', '1']);
    // Two independent CAs, as after a server whose data directory was reset.
    certsA = await ensureCertificates(path.join(tmp, 'a'), { hostnames: [], addresses: [] });
    certsB = await ensureCertificates(path.join(tmp, 'b'), { hostnames: [], addresses: [] });
    env = { IMV_CONFIG_DIR: path.join(tmp, 'config') };
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('pins the certificate on first use, then refuses a changed one until --trust-new', async () => {
    proxy = await startTlsProxy(certsA, server.port);
    const url = `https://127.0.0.1:${proxy.port}`;
    const sent = await runCli(['send', clip, '--room', 'tls', '--fast', '--server', url], { env });
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toContain(`imv: first connection to wss://127.0.0.1:${proxy.port}: trusting its certificate, SHA-256 ${certsA.fingerprintSha256}`);
    const id = Number(/^sent message (\d+)/.exec(sent.stdout)![1]);

    // REST (history) uses the same pin: no notice the second time.
    const listed = await runCli(['history', '--room', 'tls', '--json', '--server', url], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toMatchObject({ id, status: 'complete' });

    // Same address, another CA: refused loudly, nothing sent.
    const port = proxy.port;
    await proxy.close();
    proxy = await startTlsProxy(certsB, server.port, port);
    const refused = await runCli(['send', clip, '--room', 'tls', '--fast', '--server', url], { env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`imv: the certificate of wss://127.0.0.1:${port} CHANGED since the first connection.`);
    expect(refused.stderr).toContain(certsB.fingerprintSha256);

    const trusted = await runCli(['--trust-new', 'history', '--room', 'tls', '--server', url], { env });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stderr).toContain('--trust-new');
    expect(trusted.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('with --ca, listens and downloads over https without pinning anything', async () => {
    proxy = await startTlsProxy(certsA, server.port);
    const caFile = path.join(tmp, 'ca-a.crt');
    await writeFile(caFile, certsA.caCertPem);
    const config = { IMV_CONFIG_DIR: path.join(tmp, 'config-ca') };
    const out = path.join(tmp, 'inbox');
    const heard = await runCli(
      ['--ca', caFile, 'listen', '--room', 'tls', '--since', 'all', '--count', '1', '--json', '--out', out, '--server', `https://127.0.0.1:${proxy.port}`],
      { env: config },
    );
    expect(heard.code, heard.stderr).toBe(0);
    expect(heard.stderr).toBe('');
    const { path: saved } = JSON.parse(heard.stdout) as { path: string };
    expect(compareOgg(soxSamples(clip), await readFile(saved)).correlation).toBeGreaterThanOrEqual(0.9);
    await expect(readFile(path.join(tmp, 'config-ca', 'known_hosts.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
