import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCertificates } from '../src/tls/index.js';
import { homeTrustingCa, launchChromium } from '@imv/test-support/chromium';

/*
 * Chromium on Linux trusts the roots in the NSS database at $HOME/.pki/nssdb. The test gives the
 * browser a temp HOME whose NSS db trusts only the imv CA (certutil from Debian's libnss3-tools),
 * so the page opens with full certificate checks: no ignoreHTTPSErrors, no SPKI pinning flags.
 */

let workDir: string;
let server: https.Server;
let port: number;
let browser: Browser | undefined;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-tls-browser-'));
  const certs = await ensureCertificates(path.join(workDir, 'data'), {
    hostnames: ['kitchen-pc'],
    addresses: [],
  });
  const home = await homeTrustingCa(workDir, certs.caCertPem);
  server = https.createServer({ key: certs.keyPem, cert: certs.chainPem }, (_req, res) => {
    res
      .setHeader('content-type', 'text/html')
      .end('<!doctype html><title>imv</title><p>imv over https</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  browser = await launchChromium({
    home,
    // kitchen-pc.local resolves to the test server without touching real DNS or mDNS.
    args: ['--host-resolver-rules=MAP kitchen-pc.local 127.0.0.1, MAP other-pc.local 127.0.0.1'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

describe('Chromium with the imv CA in its NSS database', () => {
  it('opens https://127.0.0.1:PORT as a secure context without certificate errors', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const response = await page.goto(`https://127.0.0.1:${port}/`);
    expect(response?.status()).toBe(200);
    expect(await page.textContent('p')).toBe('imv over https');
    expect(await page.evaluate('window.isSecureContext')).toBe(true);
    expect(await page.evaluate('typeof navigator.mediaDevices?.getUserMedia')).toBe('function');
    await context.close();
  });

  it('opens the .local name of the machine', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`https://kitchen-pc.local:${port}/`);
    expect(await page.evaluate('window.isSecureContext')).toBe(true);
    await context.close();
  });

  it('fails without the NSS database, so the trust above came from the imv CA', async () => {
    const bareHome = path.join(workDir, 'bare-home');
    await mkdir(bareHome, { recursive: true });
    const bare = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      env: { ...process.env, HOME: bareHome },
    });
    try {
      const page = await bare.newPage();
      await expect(page.goto(`https://127.0.0.1:${port}/`)).rejects.toThrow(
        'net::ERR_CERT_AUTHORITY_INVALID',
      );
    } finally {
      await bare.close();
    }
  });

  it('refuses a name the certificate does not cover', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await expect(page.goto(`https://other-pc.local:${port}/`)).rejects.toThrow(
      'net::ERR_CERT_COMMON_NAME_INVALID',
    );
    await context.close();
  });
});
