import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildMobileConfig, ensureCertificates, listMachineAddresses } from '../src/tls/index.js';

let dataDir: string;
const servers: https.Server[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'imv-tls-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

async function serve(key: string, cert: string): Promise<number> {
  const server = https.createServer({ key, cert }, (_req, res) => res.end('imv ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(port: number, options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', agent: false, ...options },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve(body));
      },
    );
    req.on('error', reject).end();
  });
}

describe('ensureCertificates', () => {
  it('makes a CA and a server certificate it signed, covering every name and address', async () => {
    const certs = await ensureCertificates(dataDir, {
      hostnames: ['kitchen-pc'],
      addresses: ['192.168.1.20', 'fd00:0:0:0::2', '10.0.0.7'],
    });
    expect(certs.caCreated).toBe(true);
    expect(certs.reissued).toBe(true);

    const ca = new X509Certificate(certs.caCertPem);
    const leaf = new X509Certificate(certs.certPem);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    const caUsage = new x509.X509Certificate(certs.caCertPem).getExtension(x509.KeyUsagesExtension);
    expect((caUsage?.usages ?? 0) & x509.KeyUsageFlags.keyCertSign).toBe(
      x509.KeyUsageFlags.keyCertSign,
    );
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth

    const san = leaf.subjectAltName ?? '';
    for (const name of ['DNS:localhost', 'DNS:kitchen-pc', 'DNS:kitchen-pc.local'])
      expect(san).toContain(name);
    for (const ip of ['127.0.0.1', '192.168.1.20', '10.0.0.7'])
      expect(san).toContain(`IP Address:${ip}`);
    expect(certs.ipAddresses).toEqual(expect.arrayContaining(['::1', 'fd00::2']));
    expect(certs.dnsNames).toEqual(['localhost', 'kitchen-pc', 'kitchen-pc.local']);

    const lifetimeDays = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(lifetimeDays).toBeLessThanOrEqual(825);
    const caLifetimeDays = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / 86_400_000;
    expect(caLifetimeDays).toBeGreaterThan(3649);
    expect(certs.fingerprintSha256).toBe(leaf.fingerprint256);
    expect(certs.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(certs.caFingerprintSha256).toBe(ca.fingerprint256);
  });

  it('stores the files in <dataDir>/tls with private keys readable by the owner only', async () => {
    const certs = await ensureCertificates(dataDir, { hostnames: ['h'], addresses: [] });
    expect(certs.dir).toBe(path.join(dataDir, 'tls'));
    expect((await stat(path.join(certs.dir, 'ca.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(certs.dir, 'server.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(certs.dir, 'ca.crt'), 'utf8')).toBe(certs.caCertPem);
    expect(await readFile(path.join(certs.dir, 'server.crt'), 'utf8')).toBe(certs.certPem);
    expect(await readFile(path.join(certs.dir, 'server.key'), 'utf8')).toBe(certs.keyPem);
  });

  it('reuses the stored certificates on the next call', async () => {
    const names = { hostnames: ['kitchen-pc'], addresses: ['192.168.1.20'] };
    const first = await ensureCertificates(dataDir, names);
    const second = await ensureCertificates(dataDir, names);
    expect(second.reissued).toBe(false);
    expect(second.caCreated).toBe(false);
    expect(second.fingerprintSha256).toBe(first.fingerprintSha256);
    expect(second.keyPem).toBe(first.keyPem);
    // A subset of what is covered needs nothing new either.
    const subset = await ensureCertificates(dataDir, { hostnames: ['kitchen-pc'], addresses: [] });
    expect(subset.reissued).toBe(false);
  });

  it('re-issues only the server certificate, with the same CA, when a new address appears', async () => {
    const first = await ensureCertificates(dataDir, {
      hostnames: ['kitchen-pc'],
      addresses: ['192.168.1.20'],
    });
    const second = await ensureCertificates(dataDir, {
      hostnames: ['kitchen-pc'],
      addresses: ['192.168.1.20', '10.1.2.3'],
    });
    expect(second.reissued).toBe(true);
    expect(second.caCreated).toBe(false);
    expect(second.caFingerprintSha256).toBe(first.caFingerprintSha256);
    expect(second.fingerprintSha256).not.toBe(first.fingerprintSha256);
    expect(second.ipAddresses).toEqual(expect.arrayContaining(['192.168.1.20', '10.1.2.3']));
    expect(
      new X509Certificate(second.certPem).verify(new X509Certificate(first.caCertPem).publicKey),
    ).toBe(true);
  });

  it('makes one CA when called several times at once', async () => {
    const names = { hostnames: ['kitchen-pc'], addresses: [] };
    const all = await Promise.all([1, 2, 3].map(() => ensureCertificates(dataDir, names)));
    expect(new Set(all.map((c) => c.caFingerprintSha256)).size).toBe(1);
    expect(new Set(all.map((c) => c.fingerprintSha256)).size).toBe(1);
    expect(all.filter((c) => c.caCreated)).toHaveLength(1);
    expect(await readFile(path.join(dataDir, 'tls', 'ca.crt'), 'utf8')).toBe(all[0]!.caCertPem);
  });

  it('refuses an address that is not an IP with a clear error', async () => {
    await expect(ensureCertificates(dataDir, { addresses: ['kitchen-pc'] })).rejects.toThrow(
      "addresses: 'kitchen-pc' is not an IPv4 or IPv6 address",
    );
  });

  it('is trusted by a Node TLS client that knows only the CA, for each name in the certificate', async () => {
    const certs = await ensureCertificates(dataDir, { hostnames: ['kitchen-pc'], addresses: [] });
    const port = await serve(certs.keyPem, certs.chainPem);
    expect(await get(port, { ca: certs.caCertPem })).toBe('imv ok');
    expect(await get(port, { ca: certs.caCertPem, servername: 'kitchen-pc.local' })).toBe('imv ok');
    expect(await get(port, { ca: certs.caCertPem, servername: 'localhost' })).toBe('imv ok');
    await expect(
      get(port, { ca: certs.caCertPem, servername: 'other-pc.local' }),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    // Without the CA the chain ends in an unknown root.
    await expect(get(port, {})).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });

  it('is trusted when the server sends only its own certificate (the client has the CA)', async () => {
    const certs = await ensureCertificates(dataDir, { hostnames: ['kitchen-pc'], addresses: [] });
    const port = await serve(certs.keyPem, certs.certPem);
    expect(await get(port, { ca: certs.caCertPem })).toBe('imv ok');
    await expect(get(port, {})).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});

describe('listMachineAddresses', () => {
  it('lists no loopback or link-local address', () => {
    for (const address of listMachineAddresses()) {
      expect(address).not.toMatch(/^(127\.|::1$|169\.254\.|fe[89ab])/i);
    }
  });
});

describe('buildMobileConfig', () => {
  it('embeds the CA as a com.apple.security.root payload with UUIDs stable per CA', async () => {
    const certs = await ensureCertificates(dataDir, { hostnames: ['kitchen-pc'] });
    const profile = buildMobileConfig(certs.caCertPem, { name: 'imv on <kitchen> & co' });
    expect(profile).toContain('<string>com.apple.security.root</string>');
    expect(profile).toContain('<string>imv on &#60;kitchen&#62; &#38; co</string>');
    const data = /<data>([A-Za-z0-9+/=]+)<\/data>/.exec(profile)?.[1] ?? '';
    expect(Buffer.from(data, 'base64').equals(new X509Certificate(certs.caCertPem).raw)).toBe(true);

    const uuids = [
      ...profile.matchAll(/<key>PayloadUUID<\/key>\s*<string>([0-9A-F-]{36})<\/string>/g),
    ].map((m) => m[1]);
    expect(uuids).toHaveLength(2);
    expect(new Set(uuids).size).toBe(2);
    expect(buildMobileConfig(certs.caCertPem, { name: 'x' })).toContain(uuids[0]);

    const otherDir = await mkdtemp(path.join(tmpdir(), 'imv-tls-other-'));
    try {
      const other = await ensureCertificates(otherDir, { hostnames: ['kitchen-pc'] });
      expect(buildMobileConfig(other.caCertPem, { name: 'x' })).not.toContain(uuids[0]);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});
