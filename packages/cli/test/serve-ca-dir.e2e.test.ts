import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe, type ServeProcess } from '@imv/test-support/cli';

/** The certificate a TLS server presents, accepted only if it chains to `caPem`. */
function presentedCertificate(port: number, caPem: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem, rejectUnauthorized: true });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert);
    });
    socket.once('error', reject);
  });
}

async function httpsPortOf(node: ServeProcess): Promise<number> {
  const [, port] = await node.process.waitForStdout(/\n\s*https:\/\/127\.0\.0\.1:(\d+)/);
  return Number(port);
}

describe('imv serve --ca-dir', () => {
  let tmp: string;
  const nodes: ServeProcess[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-ca-dir-'));
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('gives two nodes started at once on an empty CA dir certificates signed by the one CA there', async () => {
    const caDir = path.join(tmp, 'ca');
    const start = (name: string) =>
      startServe(path.join(tmp, name), {
        args: ['--https-port', '0', '--no-mdns', '--ca-dir', caDir],
        timeoutMs: 60_000,
      });
    nodes.push(...(await Promise.all([start('node-1'), start('node-2')])));
    const [one, two] = nodes as [ServeProcess, ServeProcess];

    const caPem = await readFile(path.join(caDir, 'ca.crt'), 'utf8');
    const ca = new X509Certificate(caPem);
    // One CA, its key beside it and private; no leftover temp files from the race.
    expect((await readdir(caDir)).sort()).toEqual(['ca.crt', 'ca.key']);
    expect((await stat(path.join(caDir, 'ca.key'))).mode & 0o777).toBe(0o600);

    const certs = await Promise.all([
      presentedCertificate(await httpsPortOf(one), caPem),
      presentedCertificate(await httpsPortOf(two), caPem),
    ]);
    for (const cert of certs) {
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkIssued(ca)).toBe(true);
    }
    // Each node has a server certificate of its own, and no CA of its own.
    expect(certs[0].fingerprint256).not.toBe(certs[1].fingerprint256);
    for (const name of ['node-1', 'node-2']) {
      expect((await readdir(path.join(tmp, name, 'tls'))).sort()).toEqual([
        'server.crt',
        'server.key',
      ]);
    }
    // Both banners show the shared CA's fingerprint.
    for (const node of [one, two]) {
      expect(node.process.stdout).toContain(`CA fingerprint (SHA-256):     ${ca.fingerprint256}`);
    }
  });

  it('refuses --ca-dir with --no-https or --cert', async () => {
    const noHttps = await runCli(['serve', '--no-https', '--ca-dir', path.join(tmp, 'x')]);
    expect(noHttps.code).toBe(2);
    expect(noHttps.stderr).toContain('--no-https cannot be combined with');
    const withCert = await runCli([
      'serve',
      '--cert',
      'a.pem',
      '--key-file',
      'b.pem',
      '--ca-dir',
      path.join(tmp, 'x'),
    ]);
    expect(withCert.code).toBe(2);
    expect(withCert.stderr).toContain('--ca-dir is for the local CA');
  });
});
