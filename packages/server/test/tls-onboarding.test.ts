import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMobileConfig,
  ensureCertificates,
  qrToSvg,
  registerOnboardingRoutes,
  type Certificates,
  type OnboardingInfo,
} from '../src/tls/index.js';

let dataDir: string;
let certs: Certificates;
let app: FastifyInstance;
let base: string;
const HTTPS_URLS = ['https://192.168.1.20:8443/', 'https://kitchen-pc.local:8443/'];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'imv-onboarding-'));
  certs = await ensureCertificates(dataDir, {
    hostnames: ['kitchen-pc'],
    addresses: ['192.168.1.20'],
  });
  app = Fastify();
  registerOnboardingRoutes(app, {
    certificates: () => certs,
    httpsUrls: () => HTTPS_URLS,
    name: 'imv on kitchen-pc',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('onboarding routes', () => {
  it('GET /api/onboarding gives the https URLs and both fingerprints', async () => {
    const res = await fetch(`${base}/api/onboarding`);
    expect(res.status).toBe(200);
    expect((await res.json()) as OnboardingInfo).toEqual({
      httpsUrls: HTTPS_URLS,
      fingerprintSha256: certs.fingerprintSha256,
      caFingerprintSha256: certs.caFingerprintSha256,
      caCertUrl: '/ca.crt',
      mobileConfigUrl: '/ca.mobileconfig',
    });
  });

  it('GET /ca.crt serves the CA as DER with the type Android installs', async () => {
    const res = await fetch(`${base}/ca.crt`);
    expect(res.headers.get('content-type')).toBe('application/x-x509-ca-cert');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="imv-ca.crt"');
    const der = Buffer.from(await res.arrayBuffer());
    expect(new X509Certificate(der).fingerprint256).toBe(certs.caFingerprintSha256);
  });

  it('GET /ca.pem serves the CA as PEM', async () => {
    const res = await fetch(`${base}/ca.pem`);
    expect(res.headers.get('content-type')).toBe('application/x-pem-file');
    expect(await res.text()).toBe(certs.caCertPem);
  });

  it('GET /ca.mobileconfig serves the iOS profile with the type Safari opens', async () => {
    const res = await fetch(`${base}/ca.mobileconfig`);
    expect(res.headers.get('content-type')).toBe('application/x-apple-aspen-config');
    expect(await res.text()).toBe(
      buildMobileConfig(certs.caCertPem, { name: 'imv on kitchen-pc' }),
    );
  });

  it('GET /api/onboarding/qr.svg draws the QR code of one of the server URLs', async () => {
    const first = await fetch(`${base}/api/onboarding/qr.svg`);
    expect(first.headers.get('content-type')).toBe('image/svg+xml');
    expect(await first.text()).toBe(await qrToSvg(HTTPS_URLS[0]!));
    const second = await fetch(
      `${base}/api/onboarding/qr.svg?url=${encodeURIComponent(HTTPS_URLS[1]!)}`,
    );
    expect(await second.text()).toBe(await qrToSvg(HTTPS_URLS[1]!));
  });

  it('refuses to draw a QR code for a URL that is not the server', async () => {
    const res = await fetch(
      `${base}/api/onboarding/qr.svg?url=${encodeURIComponent('https://evil.example/')}`,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 'BAD_REQUEST',
      message: `url must be one of this server's https URLs: ${HTTPS_URLS.join(', ')}`,
      statusCode: 400,
    });
  });
});
