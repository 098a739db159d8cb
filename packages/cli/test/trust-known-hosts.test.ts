import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ensureCertificates, type Certificates } from '../../server/src/tls/index.js';
import {
  CertificateChangedError,
  configDir,
  connectPinned,
  knownHostsPath,
  type PinOptions,
} from '../src/trust/known-hosts.js';

/*
 * Real https and wss servers on 127.0.0.1. A certificate change on the same host:port is made with
 * server.setSecureContext, as when a server's data directory is reset and it makes a new CA.
 */

let certDirs: string[] = [];
let certsA: Certificates;
let certsA2: Certificates; // same CA as A, re-issued for a new address
let certsB: Certificates; // another CA
let configPath: string;
let server: https.Server;
let wss: WebSocketServer;
let port: number;
let requestsSeen: number;
let notices: string[];

beforeAll(async () => {
  const dirA = await mkdtemp(path.join(tmpdir(), 'imv-pin-a-'));
  const dirB = await mkdtemp(path.join(tmpdir(), 'imv-pin-b-'));
  certDirs = [dirA, dirB];
  certsA = await ensureCertificates(dirA, { hostnames: ['kitchen-pc'], addresses: [] });
  certsA2 = await ensureCertificates(dirA, { hostnames: ['kitchen-pc'], addresses: ['10.9.8.7'] });
  certsB = await ensureCertificates(dirB, { hostnames: ['kitchen-pc'], addresses: [] });
  return async () => {
    for (const dir of certDirs) await rm(dir, { recursive: true, force: true });
  };
});

beforeEach(async () => {
  configPath = await mkdtemp(path.join(tmpdir(), 'imv-config-'));
  notices = [];
  requestsSeen = 0;
  server = https.createServer({ key: certsA.keyPem, cert: certsA.chainPem }, (_req, res) => {
    requestsSeen++;
    res.end('imv ok');
  });
  wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(data)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(configPath, { recursive: true, force: true });
});

function useCertificate(certs: Certificates): void {
  server.setSecureContext({ key: certs.keyPem, cert: certs.chainPem });
}

function options(extra: PinOptions = {}): PinOptions {
  return { configDir: configPath, notice: (m) => notices.push(m), ...extra };
}

function get(extra: PinOptions = {}): Promise<string> {
  const { url, agent } = connectPinned(`https://127.0.0.1:${port}/`, options(extra));
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function wsEcho(extra: PinOptions = {}): Promise<string> {
  const { url, agent } = connectPinned(`wss://127.0.0.1:${port}/ws`, options(extra));
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { agent });
    socket.on('open', () => socket.send('hello over wss'));
    socket.on('message', (data: Buffer) => {
      resolve(data.toString());
      socket.close();
    });
    socket.on('error', reject);
  });
}

async function pins(): Promise<
  Record<string, { fingerprintSha256: string; caFingerprintSha256?: string }>
> {
  const file = JSON.parse(await readFile(knownHostsPath(configPath), 'utf8')) as {
    hosts: Record<string, { fingerprintSha256: string; caFingerprintSha256?: string }>;
  };
  return file.hosts;
}

describe('connectPinned over https', () => {
  it('trusts and pins the certificate on first use, with a notice showing the fingerprint', async () => {
    expect(await get()).toBe('imv ok');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`first connection to https://127.0.0.1:${port}`);
    expect(notices[0]).toContain(certsA.fingerprintSha256);
    expect(await pins()).toEqual({
      [`127.0.0.1:${port}`]: expect.objectContaining({
        fingerprintSha256: certsA.fingerprintSha256,
        caFingerprintSha256: certsA.caFingerprintSha256,
      }) as unknown,
    });
    expect((await stat(knownHostsPath(configPath))).mode & 0o777).toBe(0o600);
  });

  it('accepts the pinned certificate silently on later connections', async () => {
    await get();
    notices = [];
    expect(await get()).toBe('imv ok');
    expect(notices).toEqual([]);
    expect(requestsSeen).toBe(2);
  });

  it('refuses a changed certificate with a loud error before sending the request', async () => {
    await get();
    useCertificate(certsB);
    const err = await get().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CertificateChangedError);
    const message = (err as CertificateChangedError).message;
    expect(message).toContain(`the certificate of https://127.0.0.1:${port} CHANGED`);
    expect(message).toContain(`pinned:    ${certsA.fingerprintSha256}`);
    expect(message).toContain(`presented: ${certsB.fingerprintSha256}`);
    expect(message).toContain('run again with --trust-new');
    expect((err as CertificateChangedError).exitCode).toBe(1);
    expect(requestsSeen).toBe(1);
    expect((await pins())[`127.0.0.1:${port}`]?.fingerprintSha256).toBe(certsA.fingerprintSha256);
  });

  it('re-pins a changed certificate with trustNew, and then accepts it without the flag', async () => {
    await get();
    useCertificate(certsB);
    expect(await get({ trustNew: true })).toBe('imv ok');
    expect(notices.at(-1)).toContain(
      `--trust-new: https://127.0.0.1:${port} is now pinned to SHA-256 ${certsB.fingerprintSha256}`,
    );
    expect(await get()).toBe('imv ok');
    useCertificate(certsA);
    await expect(get()).rejects.toBeInstanceOf(CertificateChangedError);
  });

  it('follows a certificate re-issued by the same pinned CA (new LAN address)', async () => {
    await get();
    useCertificate(certsA2);
    expect(certsA2.fingerprintSha256).not.toBe(certsA.fingerprintSha256);
    expect(await get()).toBe('imv ok');
    expect(notices.at(-1)).toContain('has a new certificate from the same pinned CA');
    expect((await pins())[`127.0.0.1:${port}`]?.fingerprintSha256).toBe(certsA2.fingerprintSha256);
  });

  it('with insecure accepts any certificate and stores nothing', async () => {
    expect(await get({ insecure: true })).toBe('imv ok');
    await expect(stat(knownHostsPath(configPath))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(notices).toEqual([]);
  });

  it('with a CA given trusts certificates from that CA without pinning, and refuses others', async () => {
    expect(await get({ ca: certsA.caCertPem })).toBe('imv ok');
    useCertificate(certsA2);
    expect(await get({ ca: certsA.caCertPem })).toBe('imv ok');
    expect(notices).toEqual([]);
    await expect(stat(knownHostsPath(configPath))).rejects.toMatchObject({ code: 'ENOENT' });
    useCertificate(certsB);
    await expect(get({ ca: certsA.caCertPem })).rejects.toMatchObject({
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(requestsSeen).toBe(2);
  });

  it('refuses to run on a corrupt known-hosts file instead of forgetting every pin', async () => {
    await writeFile(knownHostsPath(configPath), '{ not json');
    await expect(get()).rejects.toThrow(
      `${knownHostsPath(configPath)} is not a valid imv known-hosts file`,
    );
    expect(requestsSeen).toBe(0);
  });
});

describe('connectPinned over wss', () => {
  it('pins on first use, then refuses a changed certificate', async () => {
    expect(await wsEcho()).toBe('hello over wss');
    expect(notices[0]).toContain(`first connection to wss://127.0.0.1:${port}`);
    // https and wss to the same host:port share one pin.
    expect(await get()).toBe('imv ok');
    useCertificate(certsB);
    await expect(wsEcho()).rejects.toBeInstanceOf(CertificateChangedError);
    expect(wss.clients.size).toBe(0);
  });
});

describe('connectPinned URL handling', () => {
  it('needs no agent for http: and ws: URLs and refuses other schemes', () => {
    expect(connectPinned('http://127.0.0.1:8080/').agent).toBeUndefined();
    expect(connectPinned('ws://127.0.0.1:8080/ws').agent).toBeUndefined();
    expect(() => connectPinned('ftp://127.0.0.1/')).toThrow(
      'unsupported URL scheme ftp: in ftp://127.0.0.1/',
    );
  });

  it('keeps known hosts in IMV_CONFIG_DIR, else $XDG_CONFIG_HOME/imv, else ~/.config/imv', () => {
    expect(configDir({ IMV_CONFIG_DIR: '/tmp/x' })).toBe('/tmp/x');
    expect(configDir({ XDG_CONFIG_HOME: '/home/u/.cfg' })).toBe('/home/u/.cfg/imv');
    expect(configDir({})).toMatch(/\/\.config\/imv$/);
    expect(knownHostsPath('/tmp/x')).toBe('/tmp/x/known_hosts.json');
  });
});

describe('first use with a fingerprint announced over mDNS (--discover)', () => {
  it('pins when the certificate is the announced one', async () => {
    expect(await get({ announcedFingerprint: certsA.fingerprintSha256 })).toBe('imv ok');
    const pins = JSON.parse(await readFile(knownHostsPath(configPath), 'utf8')) as {
      hosts: Record<string, { fingerprintSha256: string }>;
    };
    expect(pins.hosts[`127.0.0.1:${port}`]?.fingerprintSha256).toBe(certsA.fingerprintSha256);
  });

  it('refuses another certificate before any request, and pins nothing', async () => {
    await expect(get({ announcedFingerprint: certsB.fingerprintSha256 })).rejects.toThrow(
      `the certificate of https://127.0.0.1:${port} is not the one its mDNS announcement named.\n` +
        `  announced: ${certsB.fingerprintSha256}\n  presented: ${certsA.fingerprintSha256}`,
    );
    expect(requestsSeen).toBe(0);
    await expect(readFile(knownHostsPath(configPath))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
