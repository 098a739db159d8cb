import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { printBanner } from '../src/index.js';
import type { ImvServer } from '../src/index.js';
import { ensureCertificates } from '../src/tls/index.js';
import { get } from './helpers/https-request.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { decodeGrid, gridFromTerminal } from './helpers/qr-decode.js';
import { TestClient, TestServers } from '@imv/test-support/server';

const servers = new TestServers();
afterEach(() => servers.cleanup());

/** Every server here binds all interfaces, as `imv serve` does, so urls lists the LAN addresses. */
function startWildcard(options: Parameters<TestServers['start']>[0] = {}): Promise<ImvServer> {
  return servers.start({ host: '0.0.0.0', mdns: false, ...options });
}

function bannerOf(server: ImvServer): string {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  printBanner(server, out);
  return text;
}

function ipsOf(urls: string[]): string[] {
  return urls
    .map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''))
    .filter((h) => isIP(h) !== 0 && h !== '127.0.0.1');
}

describe('HTTPS listener with the local CA', () => {
  it('serves the API over https with a certificate that chains to the CA it hands out', async () => {
    const server = await startWildcard();
    expect(server.httpsPort).toBeGreaterThan(0);
    expect(server.httpsPort).not.toBe(server.port);
    expect(server.httpsUrl).toBe(`https://127.0.0.1:${server.httpsPort}`);
    const answer = await get(`${server.httpsUrl}/api/health`, { ca: server.caCertPem });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ ok: true });
    expect(answer.peerCertificate?.fingerprint256).toBe(server.fingerprintSha256);
    // The CA handed out over plain http (what a phone installs) is the one that signed it.
    const caDer = (await get(`${server.httpUrl}/ca.crt`)).body;
    const { X509Certificate } = await import('node:crypto');
    const ca = new X509Certificate(caDer);
    expect(ca.fingerprint256).toBe(server.caFingerprintSha256);
    expect(answer.peerCertificate?.verify(ca.publicKey)).toBe(true);
  });

  it('covers every LAN address of urls and httpsUrls, and each one opens with full checks', async () => {
    const server = await startWildcard();
    const lanIps = ipsOf([...server.urls, ...server.httpsUrls]);
    expect(ipsOf(server.httpsUrls)).toEqual(ipsOf(server.urls));
    const san = (await get(`${server.httpsUrl}/api/health`, { ca: server.caCertPem }))
      .peerCertificate?.subjectAltName;
    for (const ip of lanIps) expect(san).toContain(`IP Address:${ip.toUpperCase()}`);
    for (const url of server.httpsUrls) {
      expect((await get(`${url}/api/health`, { ca: server.caCertPem })).status).toBe(200);
    }
  });

  it('keeps the same certificate and CA when restarted on the same data dir', async () => {
    const dataDir = servers.tempDir();
    const first = await startWildcard({ dataDir });
    const { fingerprintSha256, caFingerprintSha256 } = first;
    await first.close();
    const second = await startWildcard({ dataDir });
    expect(second.fingerprintSha256).toBe(fingerprintSha256);
    expect(second.caFingerprintSha256).toBe(caFingerprintSha256);
    const answer = await get(`${second.httpsUrl}/api/health`, { ca: second.caCertPem });
    expect(answer.peerCertificate?.fingerprint256).toBe(fingerprintSha256);
  });

  it('serves a stored message as an .ogg over https that opusinfo accepts', async () => {
    const server = await startWildcard();
    // 100 frames (2 s) stay under the per-connection frame burst.
    const packets = opusPacketsOf('speech-en-48k.wav').slice(0, 100);
    const talker = await TestClient.joined(server.httpUrl, 'lobby', 'alice');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, packets);
    const id = (await talker.next('message-stored')).message.id;
    await talker.close();
    const answer = await get(`${server.httpsUrl}/api/rooms/lobby/messages/${id}.ogg`, {
      ca: server.caCertPem,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('audio/ogg');
    const file = path.join(servers.tempDir(), 'download.ogg');
    writeFileSync(file, answer.body);
    const info = execFileSync('opusinfo', [file], { encoding: 'utf8' });
    expect(info).not.toMatch(/WARNING|ERROR/);
    expect(info).toMatch(/Total data length: \d+ bytes/);
    expect(info).toMatch(/Playback length: 0m:0?1\.9\d\ds/);
  });

  it('turns https off with httpsPort false', async () => {
    const server = await startWildcard({ httpsPort: false });
    expect(server.httpsPort).toBeUndefined();
    expect(server.httpsUrl).toBeUndefined();
    expect(server.httpsUrls).toEqual([]);
    expect(server.fingerprintSha256).toBeUndefined();
    expect(bannerOf(server)).not.toContain('https://');
    // Without https there is nowhere better to send a LAN visitor: the app is served as before.
    const lan = server.urls.find((u) => !u.includes('localhost'));
    if (lan !== undefined) {
      expect((await get(`${lan}/`)).body.toString('utf8')).not.toContain('Open imv over https');
    }
  });
});

describe("the operator's own certificate (certFile / keyFile)", () => {
  async function operatorFiles(): Promise<{ certFile: string; keyFile: string; fp: string }> {
    const dir = servers.tempDir();
    const certs = await ensureCertificates(dir, { hostnames: ['voice.example'], addresses: [] });
    const certFile = path.join(dir, 'fullchain.pem');
    const keyFile = path.join(dir, 'privkey.pem');
    writeFileSync(certFile, certs.chainPem);
    writeFileSync(keyFile, certs.keyPem);
    return { certFile, keyFile, fp: certs.fingerprintSha256 };
  }

  it('serves that certificate and answers the CA downloads with 404 saying why', async () => {
    const { certFile, keyFile, fp } = await operatorFiles();
    const server = await servers.start({ certFile, keyFile });
    expect(server.fingerprintSha256).toBe(fp);
    expect(server.caFingerprintSha256).toBeUndefined();
    expect(server.caCertPem).toBeUndefined();
    const https = await get(`${server.httpsUrl}/api/health`, {
      ca: readFileSync(certFile, 'utf8'),
    });
    expect(https.peerCertificate?.fingerprint256).toBe(fp);
    for (const file of ['/ca.crt', '/ca.mobileconfig']) {
      const answer = await get(`${server.httpUrl}${file}`);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body.toString('utf8'))).toEqual({
        code: 'NOT_FOUND',
        message:
          'this server uses its own certificate (certFile), not a local imv CA: there is nothing to install',
        statusCode: 404,
      });
    }
  });

  it('sends LAN visitors on plain http to https, with no CA to install', async () => {
    const { certFile, keyFile, fp } = await operatorFiles();
    const server = await servers.start({ certFile, keyFile });
    // A Host that is not loopback is another device's request, as far as the page is concerned.
    const answer = await get(`${server.httpUrl}/`, {
      headers: { host: `voice.example:${server.port}` },
    });
    const page = answer.body.toString('utf8');
    expect(page).toContain(`<a class="open" href="https://voice.example:${server.httpsPort}/">`);
    expect(page).toContain(`<code>${fp}</code>`);
    expect(page).not.toContain('/ca.crt');
    expect(page).not.toContain('Certificate authority');
  });

  it('refuses to start with a key that is not the certificate’s', async () => {
    const a = await operatorFiles();
    const b = await operatorFiles();
    await expect(servers.start({ certFile: a.certFile, keyFile: b.keyFile })).rejects.toThrow(
      `${b.keyFile} is not the private key of ${a.certFile}`,
    );
    await expect(servers.start({ certFile: a.certFile })).rejects.toThrow(
      'options.certFile and options.keyFile must be given together',
    );
  });
});

describe('banner', () => {
  it('lists the http and https URLs, then a QR code of the main https URL and both fingerprints', async () => {
    const server = await startWildcard();
    const text = bannerOf(server);
    const lines = text.split('\n');
    expect(lines[0]).toBe('imv server listening');
    expect(lines).toContain(`  http://127.0.0.1:${server.port}`);
    expect(lines).toContain(`  https://127.0.0.1:${server.httpsPort}`);
    for (const url of server.httpsUrls) expect(lines).toContain(`  ${url}`);
    // The CLI and tests find the server by these two patterns.
    expect(/http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1]).toBe(String(server.port));
    expect(/https:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1]).toBe(String(server.httpsPort));

    const mainUrl = `${server.httpsUrls[0] ?? server.httpsUrl}/`;
    const scanLine = lines.indexOf(`Scan to open ${mainUrl} on a phone:`);
    expect(scanLine).toBeGreaterThan(0);
    const qrLines = [];
    for (let i = scanLine + 1; /^[ █▀▄]+$/.test(lines[i] ?? ''); i++) qrLines.push(lines[i]);
    expect(decodeGrid(gridFromTerminal(qrLines.join('\n'), true))).toBe(mainUrl);
    expect(lines).toContain(`  CA fingerprint (SHA-256):     ${server.caFingerprintSha256}`);
    expect(lines).toContain(`  Server fingerprint (SHA-256): ${server.fingerprintSha256}`);
  });

  it('points the QR code at https://127.0.0.1 when bound to loopback only', async () => {
    const server = await servers.start();
    const text = bannerOf(server);
    expect(text).toContain(`Scan to open https://127.0.0.1:${server.httpsPort}/ on a phone:`);
    expect(server.httpsUrls).toEqual([]);
  });
});
