import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import tls, { type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { CliError } from '../cli-error.js';

/*
 * Certificate pinning for the CLI, like SSH's known_hosts: an imv server on a LAN has a certificate
 * from its own little CA that no system trusts. The first connection to host:port stores the
 * certificate's SHA-256 fingerprint (and its CA's); later connections accept only that certificate,
 * or a new one signed by the same pinned CA (the server re-issues when it gets a new LAN address).
 * Anything else stops with a loud error, unless the user says --trust-new.
 *
 * The check runs in the Agent's createConnection, after the TLS handshake and BEFORE the socket is
 * handed to http/ws: not one byte of the request reaches a server that failed the check.
 * Certificates that the system CAs already trust for the host name are accepted without pinning,
 * so a server behind a real certificate (renewed every 60-90 days) never trips the check.
 */

export interface KnownHost {
  /** SHA-256 of the server certificate, 'AB:CD:…'. */
  fingerprintSha256: string;
  /** SHA-256 of the CA certificate the server sent with it, when it sent one. */
  caFingerprintSha256?: string;
  /** ISO time of the first connection. */
  addedAt: string;
}

interface KnownHostsFile {
  version: 1;
  hosts: Record<string, KnownHost>;
}

export interface PinOptions {
  /** Accept and store a certificate that differs from the pinned one (--trust-new). */
  trustNew?: boolean;
  /** Skip every certificate check and store nothing (--insecure). */
  insecure?: boolean;
  /**
   * CA certificate(s) to trust instead of pinning (--ca, e.g. the imv server's downloaded ca.crt).
   * With it the server must chain to one of them and match the host name; nothing is pinned.
   */
  ca?: string | string[];
  /** Directory of known_hosts.json; default from `configDir()`. */
  configDir?: string;
  /**
   * The fingerprint the server announced over mDNS (`--discover`): on first use, a certificate
   * with another fingerprint is refused instead of pinned.
   */
  announcedFingerprint?: string;
  /** Where notices go (first use, re-issue, trust-new); default stderr. */
  notice?: (message: string) => void;
}

/** What to give http/https/ws to connect to `url` with pinning. */
export interface PinnedConnection {
  url: URL;
  /** An https.Agent doing the pin check, or undefined for http:/ws: URLs. Pass as `agent` to https.request or `new WebSocket(url, { agent })`. */
  agent: https.Agent | undefined;
}

/** `$IMV_CONFIG_DIR`, else `$XDG_CONFIG_HOME/imv`, else `~/.config/imv`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IMV_CONFIG_DIR) return env.IMV_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'imv');
}

export function knownHostsPath(dir: string = configDir()): string {
  return path.join(dir, 'known_hosts.json');
}

/** The error shown when a pinned server presents another certificate. */
export class CertificateChangedError extends CliError {
  readonly code = 'CERT_CHANGED';

  constructor(
    readonly origin: string,
    readonly pinnedFingerprint: string,
    readonly presentedFingerprint: string,
    file: string,
  ) {
    super(
      [
        `the certificate of ${origin} CHANGED since the first connection.`,
        `  pinned:    ${pinnedFingerprint}`,
        `  presented: ${presentedFingerprint}`,
        'Someone may be intercepting the connection, or the server made a new certificate authority',
        '(for example its data directory was reset). Compare with the fingerprint the server prints;',
        `if you expect this change, run again with --trust-new (pins are kept in ${file}).`,
      ].join('\n'),
    );
  }
}

function hostKey(url: URL): string {
  const port = url.port || '443';
  return `${url.hostname.toLowerCase()}:${port}`;
}

async function readKnownHosts(file: string): Promise<KnownHostsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, hosts: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<KnownHostsFile>;
    if (parsed.version !== 1 || typeof parsed.hosts !== 'object' || parsed.hosts === null)
      throw new Error('unknown layout');
    return parsed as KnownHostsFile;
  } catch (err) {
    // Refuse rather than start over: silently dropping pins would re-trust every server.
    throw new CliError(
      `${file} is not a valid imv known-hosts file (${(err as Error).message}); fix or delete it`,
      1,
      {
        cause: err,
      },
    );
  }
}

async function writeKnownHosts(file: string, data: KnownHostsFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The server certificate and, when the server sent it, the CA that signed it. */
function presentedChain(socket: TLSSocket): {
  leaf: X509Certificate;
  ca: X509Certificate | undefined;
} {
  const peer = socket.getPeerCertificate(true);
  if (peer.raw === undefined) throw new CliError('the server sent no certificate');
  const leaf = new X509Certificate(peer.raw);
  // Typed as always present, but absent when the server sent no chain.
  const issuer: DetailedPeerCertificate | undefined = peer.issuerCertificate;
  // A self-signed leaf is its own issuer; only a distinct certificate that signed the leaf counts.
  if (issuer?.raw !== undefined && !issuer.raw.equals(peer.raw)) {
    const ca = new X509Certificate(issuer.raw);
    if (leaf.verify(ca.publicKey)) return { leaf, ca };
  }
  return { leaf, ca: undefined };
}

/** Decides whether `socket`'s certificate may be used for `url`; throws CertificateChangedError when not. */
async function checkPin(socket: TLSSocket, url: URL, options: PinOptions): Promise<void> {
  if (options.insecure === true || socket.authorized) return;
  const notice = options.notice ?? ((m: string) => process.stderr.write(`imv: ${m}\n`));
  const file = knownHostsPath(options.configDir ?? configDir());
  const origin = `${url.protocol}//${url.host}`;
  const key = hostKey(url);
  const { leaf, ca } = presentedChain(socket);
  const presented: KnownHost = {
    fingerprintSha256: leaf.fingerprint256,
    ...(ca !== undefined && { caFingerprintSha256: ca.fingerprint256 }),
    addedAt: new Date().toISOString(),
  };
  const known = await readKnownHosts(file);
  const pinned = known.hosts[key];

  if (pinned === undefined) {
    const announced = options.announcedFingerprint;
    if (
      announced !== undefined &&
      announced.toUpperCase() !== presented.fingerprintSha256 &&
      options.trustNew !== true
    ) {
      throw new CliError(
        [
          `the certificate of ${origin} is not the one its mDNS announcement named.`,
          `  announced: ${announced}`,
          `  presented: ${presented.fingerprintSha256}`,
          'Another machine may be answering at that address. Nothing was pinned; check the server, or run again with --trust-new.',
        ].join('\n'),
      );
    }
    known.hosts[key] = presented;
    await writeKnownHosts(file, known);
    notice(
      `first connection to ${origin}: trusting its certificate, SHA-256 ${presented.fingerprintSha256}` +
        (ca !== undefined ? ` (CA ${ca.fingerprint256})` : '') +
        `. Compare it with the fingerprint the server prints. Saved in ${file}.`,
    );
    return;
  }
  if (pinned.fingerprintSha256 === presented.fingerprintSha256) return;
  if (
    pinned.caFingerprintSha256 !== undefined &&
    pinned.caFingerprintSha256 === presented.caFingerprintSha256
  ) {
    known.hosts[key] = { ...presented, addedAt: pinned.addedAt };
    await writeKnownHosts(file, known);
    notice(
      `${origin} has a new certificate from the same pinned CA; now trusting SHA-256 ${presented.fingerprintSha256}.`,
    );
    return;
  }
  if (options.trustNew === true) {
    known.hosts[key] = presented;
    await writeKnownHosts(file, known);
    notice(
      `--trust-new: ${origin} is now pinned to SHA-256 ${presented.fingerprintSha256} (was ${pinned.fingerprintSha256}).`,
    );
    return;
  }
  throw new CertificateChangedError(
    origin,
    pinned.fingerprintSha256,
    presented.fingerprintSha256,
    file,
  );
}

class PinnedAgent extends https.Agent {
  constructor(
    private readonly url: URL,
    private readonly pinOptions: PinOptions,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(
    options: tls.ConnectionOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const { ca } = this.pinOptions;
    // With explicit CAs, ordinary verification decides (tls rejects); otherwise checkPin does.
    const socket = tls.connect({
      ...options,
      ...(ca !== undefined && { ca }),
      rejectUnauthorized: ca !== undefined && this.pinOptions.insecure !== true,
    });
    const fail = (err: Error): void => {
      socket.destroy();
      callback?.(err, socket);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      socket.off('error', fail);
      checkPin(socket, this.url, this.pinOptions).then(
        () => callback?.(null, socket),
        (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
      );
    });
    // Handing the socket over only through the callback keeps http from writing before the check.
    return undefined;
  }
}

/**
 * Connection settings for `url` (http:, https:, ws:, wss:) with certificate pinning: pass
 * `agent` to https.request / fetch-less clients / `new WebSocket(url, { agent })`.
 */
export function connectPinned(url: string | URL, options: PinOptions = {}): PinnedConnection {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:' || parsed.protocol === 'ws:')
    return { url: parsed, agent: undefined };
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'wss:') {
    throw CliError.usage(
      `unsupported URL scheme ${parsed.protocol} in ${parsed.href}: use http(s):// or ws(s)://`,
    );
  }
  return { url: parsed, agent: new PinnedAgent(parsed, options) };
}
