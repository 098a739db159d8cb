import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The server certificate the TLS handshake presented (https only). */
  peerCertificate?: X509Certificate;
}

/**
 * GET over http or https. For https, `ca` is the only trusted root and Node's normal host name
 * checks apply, so a 200 here means the certificate chains to that CA and covers the URL's host.
 */
export function get(
  url: string,
  options: {
    ca?: string;
    headers?: Record<string, string>;
    /** TLS name to ask for and check, when the Host header names something else. */
    servername?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const isHttps = url.startsWith('https:');
    const request = (isHttps ? https : http).get(
      url,
      {
        headers: options.headers,
        ...(isHttps && { ca: options.ca, agent: false }),
        ...(isHttps && options.servername !== undefined && { servername: options.servername }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        const socket = res.socket as TLSSocket;
        const raw = isHttps ? socket.getPeerCertificate().raw : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ...(raw !== undefined && { peerCertificate: new X509Certificate(raw) }),
          }),
        );
        res.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}
