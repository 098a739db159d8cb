import { isIP } from 'node:net';
import { WS_PATH } from '@imv/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ONBOARDING_PATHS } from '../tls/onboarding-routes.js';
import { isEncrypted } from './security-headers.js';

/*
 * Browsers give the microphone, AudioWorklet and WebCodecs only to secure contexts: https pages,
 * or http on localhost. A phone that opens http://192.168.1.20:8080/ would get a page that cannot
 * talk, so plain-HTTP visitors from other devices get this short page pointing at the https
 * listener instead. The REST API and /ws stay open on plain HTTP for the CLI and scripts.
 */

export const ONBOARDING_CSS_PATH = '/onboarding.css';

export interface OnboardingPageSource {
  httpsPort(): number;
  /** The https URLs of the LAN addresses, e.g. ['https://192.168.1.20:8443']. */
  httpsUrls(): string[];
  fingerprintSha256(): string;
  /** undefined when the operator gave their own certificate (no local CA to install). */
  caFingerprintSha256(): string | undefined;
}

const LOOPBACK_ADDRESS = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/** True when both ends are this machine: the request came from loopback, for a loopback name. */
export function isLocalRequest(request: FastifyRequest): boolean {
  const remote = request.raw.socket.remoteAddress ?? '';
  const hostname = hostnameOf(request.headers.host);
  const localName =
    hostname === 'localhost' ||
    (hostname !== undefined && LOOPBACK_ADDRESS.test(hostname.replace(/^\[|\]$/g, '')));
  return LOOPBACK_ADDRESS.test(remote) && localName;
}

/** Paths that keep working on plain HTTP for everyone: API, WebSocket, CA downloads, the page's CSS. */
function servedToEveryone(pathname: string): boolean {
  return (
    pathname.startsWith('/api/') ||
    pathname === WS_PATH ||
    pathname === ONBOARDING_CSS_PATH ||
    (Object.values(ONBOARDING_PATHS) as string[]).includes(pathname)
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The https URL on the host name the visitor typed, so the address they know keeps working. */
function httpsUrlFor(hostHeader: string | undefined, source: OnboardingPageSource): string {
  const hostname = hostnameOf(hostHeader);
  if (hostname !== undefined && hostname !== '') {
    return `https://${hostname}:${source.httpsPort()}/`;
  }
  return `${source.httpsUrls()[0] ?? `https://localhost:${source.httpsPort()}`}/`;
}

export function renderOnboardingPage(
  hostHeader: string | undefined,
  source: OnboardingPageSource,
): string {
  const target = httpsUrlFor(hostHeader, source);
  const caFingerprint = source.caFingerprintSha256();
  const others = source
    .httpsUrls()
    .map((u) => `${u}/`)
    .filter((u) => u !== target);
  const hostname = hostnameOf(hostHeader) ?? '';
  const nameHint =
    hostname !== '' && isIP(hostname.replace(/^\[|\]$/g, '')) === 0 && !hostname.endsWith('.local')
      ? `<p class="note">If your browser says the name does not match, use one of the addresses below.</p>`
      : '';
  const caSection =
    caFingerprint === undefined
      ? ''
      : `<h2>First time on this device?</h2>
<p>Your browser will say the connection is not private until it trusts this server's own certificate authority. Install it once:</p>
<ul>
<li><strong>iPhone, iPad:</strong> <a href="${ONBOARDING_PATHS.mobileConfig}">download the profile</a> in Safari, open <em>Settings &gt; General &gt; VPN &amp; Device Management</em> to install it, then switch it on under <em>Settings &gt; General &gt; About &gt; Certificate Trust Settings</em>.</li>
<li><strong>Android, Windows, Mac, Linux, ChromeOS:</strong> <a href="${ONBOARDING_PATHS.caDer}">download the certificate</a> and install it as a CA certificate (Android: <em>Settings &gt; Security &gt; Encryption &amp; credentials &gt; Install a certificate &gt; CA certificate</em>).</li>
</ul>`;
  const fingerprints = [
    caFingerprint === undefined
      ? ''
      : `<dt>Certificate authority (SHA-256)</dt><dd><code>${escapeHtml(caFingerprint)}</code></dd>`,
    `<dt>Server certificate (SHA-256)</dt><dd><code>${escapeHtml(source.fingerprintSha256())}</code></dd>`,
  ].join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Open imv over https</title>
<link rel="stylesheet" href="${ONBOARDING_CSS_PATH}">
</head>
<body>
<main>
<h1>Open imv over https</h1>
<p>Browsers only let a page use the microphone over a secure connection. This server has one:</p>
<p><a class="open" href="${escapeHtml(target)}">${escapeHtml(target)}</a></p>
${nameHint}
${caSection}
<h2>Is it really this server?</h2>
<p>Before you trust it, check that these match what the server's screen or terminal shows:</p>
<dl>${fingerprints}</dl>
${
  others.length === 0
    ? ''
    : `<h2>Other addresses of this server</h2>
<ul>${others.map((u) => `<li><a href="${escapeHtml(u)}">${escapeHtml(u)}</a></li>`).join('')}</ul>`
}
</main>
</body>
</html>
`;
}

const ONBOARDING_CSS = `body{font:17px/1.5 system-ui,sans-serif;margin:0;padding:1rem}
main{max-width:36rem;margin:0 auto}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.75rem}
a.open{display:block;padding:.9rem 1rem;border-radius:.5rem;background:#1a5fb4;color:#fff;font-weight:600;text-align:center;word-break:break-all;text-decoration:none}
code{font-size:.8rem;word-break:break-all}dd{margin:0 0 .75rem}dt{font-weight:600}
.note{font-size:.9rem}
`;

/**
 * Plain-HTTP page requests from other devices get the onboarding page instead of the web client;
 * https requests and localhost get the client as before.
 */
export function registerOnboardingPage(app: FastifyInstance, source: OnboardingPageSource): void {
  app.get(ONBOARDING_CSS_PATH, (_request, reply) =>
    reply.type('text/css; charset=utf-8').send(ONBOARDING_CSS),
  );
  app.addHook('onRequest', (request, reply, done) => {
    if (
      (request.method !== 'GET' && request.method !== 'HEAD') ||
      isEncrypted(request) ||
      isLocalRequest(request) ||
      servedToEveryone(new URL(request.url, 'http://localhost').pathname)
    ) {
      done();
      return;
    }
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderOnboardingPage(request.headers.host, source));
  });
}
