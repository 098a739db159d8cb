import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Certificates } from './certificates.js';
import { buildMobileConfig } from './mobileconfig.js';
import { HttpError } from '../http/errors.js';
import { qrToSvg } from './qr.js';

/*
 * What a phone needs to go from "scanned a QR code" to "trusted https page": the CA certificate in
 * the formats each platform installs (DER .crt for Android/Windows/Linux, a .mobileconfig profile
 * for iOS/macOS, PEM for tools), the fingerprints to compare, and QR codes of the https URLs.
 * These routes serve public material only; the CA key never leaves <dataDir>/tls.
 */

export interface OnboardingSource {
  /** The current certificates (they can be re-issued while the server runs). */
  certificates(): Certificates;
  /** The https URLs of this server, LAN addresses first, e.g. ['https://192.168.1.20:8443/']. */
  httpsUrls(): string[];
  /** Profile name shown by iOS, e.g. "imv on kitchen-pc". */
  name: string;
}

/** What GET /api/onboarding returns. */
export interface OnboardingInfo {
  httpsUrls: string[];
  fingerprintSha256: string;
  caFingerprintSha256: string;
  caCertUrl: string;
  mobileConfigUrl: string;
}

export const ONBOARDING_PATHS = {
  info: '/api/onboarding',
  caDer: '/ca.crt',
  caPem: '/ca.pem',
  mobileConfig: '/ca.mobileconfig',
  qrSvg: '/api/onboarding/qr.svg',
} as const;

/** GET /ca.crt, /ca.pem, /ca.mobileconfig, /api/onboarding and /api/onboarding/qr.svg?url=… */
export function registerOnboardingRoutes(app: FastifyInstance, source: OnboardingSource): void {
  app.get(ONBOARDING_PATHS.info, (): OnboardingInfo => {
    const certs = source.certificates();
    return {
      httpsUrls: source.httpsUrls(),
      fingerprintSha256: certs.fingerprintSha256,
      caFingerprintSha256: certs.caFingerprintSha256,
      caCertUrl: ONBOARDING_PATHS.caDer,
      mobileConfigUrl: ONBOARDING_PATHS.mobileConfig,
    };
  });

  app.get(ONBOARDING_PATHS.caDer, (_request, reply) => {
    const der = new X509Certificate(source.certificates().caCertPem).raw;
    // Android and Chrome OS offer to install a CA served with this type (DER).
    return reply
      .type('application/x-x509-ca-cert')
      .header('content-disposition', 'attachment; filename="imv-ca.crt"')
      .send(der);
  });

  app.get(ONBOARDING_PATHS.caPem, (_request, reply) =>
    reply.type('application/x-pem-file').send(source.certificates().caCertPem),
  );

  app.get(ONBOARDING_PATHS.mobileConfig, (_request, reply) => {
    const profile = buildMobileConfig(source.certificates().caCertPem, { name: source.name });
    // Safari on iOS opens the profile installer only for this content type.
    return reply
      .type('application/x-apple-aspen-config')
      .header('content-disposition', 'attachment; filename="imv.mobileconfig"')
      .send(profile);
  });

  app.get<{ Querystring: { url?: string } }>(ONBOARDING_PATHS.qrSvg, async (request, reply) => {
    const url = request.query.url ?? source.httpsUrls()[0];
    // Only this server's own URLs: the route must not become a QR code service for any link.
    if (url === undefined || !source.httpsUrls().includes(url)) {
      // Answered here, not thrown: these routes also run on a bare fastify (tests, other hosts).
      const refusal = HttpError.badRequest(
        `url must be one of this server's https URLs: ${source.httpsUrls().join(', ')}`,
      );
      return reply.code(refusal.statusCode).send(refusal.body);
    }
    return reply
      .type('image/svg+xml')
      .header('cache-control', 'no-store')
      .send(await qrToSvg(url));
  });
}
