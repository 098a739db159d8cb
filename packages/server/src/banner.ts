import type { ImvServer } from './server.js';
import { qrToTerminalSync } from './tls/qr.js';

function isLoopbackUrl(url: string): boolean {
  return /^https?:\/\/(localhost|127\.|\[::1\])/.test(url);
}

export interface BannerOptions {
  /** Draw the QR code of the main https URL (default true). */
  qr?: boolean;
  /** The terminal draws light text on a dark background (default true); see qrToTerminal. */
  darkBackground?: boolean;
}

/**
 * Prints where the server can be reached, one URL per line: http for this machine, https for every
 * address (tests and the CLI parse `http://127.0.0.1:PORT` and `https://127.0.0.1:PORT`). Then the
 * QR code of the main https URL (the first LAN address, else localhost) and the certificate
 * fingerprints, so whoever scans can check they reached this server.
 */
export function printBanner(
  server: ImvServer,
  out: NodeJS.WritableStream = process.stdout,
  options: BannerOptions = {},
): void {
  const urls = [
    ...new Set([
      server.httpUrl,
      ...server.urls.filter(isLoopbackUrl),
      ...(server.httpsUrl === undefined ? [] : [server.httpsUrl]),
      ...server.httpsUrls,
    ]),
  ];
  // Without https, the LAN http URLs are all there is (as before https existed).
  if (server.httpsUrl === undefined) urls.push(...server.urls.filter((u) => !urls.includes(u)));
  const lines = ['imv server listening', ...urls.map((u) => `  ${u}`)];

  const mainUrl = server.httpsUrls[0] ?? server.httpsUrl;
  if (mainUrl !== undefined) {
    lines.push('');
    if (options.qr ?? true) {
      lines.push(`Scan to open ${mainUrl}/ on a phone:`);
      lines.push(
        qrToTerminalSync(`${mainUrl}/`, { darkBackground: options.darkBackground ?? true }),
      );
    } else {
      lines.push(`Open ${mainUrl}/ on a phone.`);
    }
    if (server.caFingerprintSha256 !== undefined) {
      lines.push(`  CA fingerprint (SHA-256):     ${server.caFingerprintSha256}`);
    }
    if (server.fingerprintSha256 !== undefined) {
      lines.push(`  Server fingerprint (SHA-256): ${server.fingerprintSha256}`);
    }
    const lanHttpUrl = server.urls.find((u) => !isLoopbackUrl(u));
    if (server.caFingerprintSha256 !== undefined && lanHttpUrl !== undefined) {
      lines.push(`  New device? ${lanHttpUrl}/ shows how to trust this server's CA.`);
    }
  }
  out.write(`${lines.join('\n')}\n`);
}
