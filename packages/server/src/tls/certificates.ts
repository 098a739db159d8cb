import { X509Certificate as NodeX509Certificate, type webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import path from 'node:path';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, privatizeTree } from '../store/data-dir.js';
import { waitForFile, writeFileIfAbsent } from './shared-ca-files.js';

/*
 * Trust on first scan: each imv server makes its own small certificate authority once, and signs a
 * server certificate for every name and LAN address it answers on. A phone trusts the CA once (QR
 * code -> .mobileconfig / .crt), and later server certificates (new LAN address) stay trusted
 * because the CA does not change.
 *
 * ECDSA P-256 + SHA-256: 10 ms to make with WebCrypto (RSA-2048 takes 130-200 ms, NOTES.md), and
 * accepted by Chromium, Firefox, Safari/iOS, Android and Node.
 */

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
/** Apple refuses TLS server certificates valid for more than 825 days, even under a user-trusted CA (support.apple.com/HT210176). */
export const SERVER_CERT_VALIDITY_DAYS = 820;
/** Re-issue the server certificate when it has fewer days than this left. */
const RENEW_BEFORE_DAYS = 30;
/** Backdate notBefore: a phone whose clock is a little behind must not see "not yet valid". */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

const CA_CERT_FILE = 'ca.crt';
const CA_KEY_FILE = 'ca.key';
const SERVER_CERT_FILE = 'server.crt';
const SERVER_KEY_FILE = 'server.key';

export interface CertificateNames {
  /** Host names to cover besides `localhost`; default: this machine's host name and `<name>.local`. */
  hostnames?: string[];
  /** IPv4/IPv6 addresses to cover besides 127.0.0.1 and ::1, usually `listMachineAddresses()`. */
  addresses?: string[];
  /**
   * Directory of a CA shared by several nodes (`imv serve --ca-dir`): ca.crt and ca.key are read
   * there (made there by the first node), the server certificate stays in `<dataDir>/tls/`.
   */
  caDir?: string;
}

export interface Certificates {
  caCertPem: string;
  /** The server certificate alone. */
  certPem: string;
  /** Server certificate followed by the CA certificate: pass this as `cert` to https.createServer. */
  chainPem: string;
  keyPem: string;
  /** SHA-256 of the server certificate, 'AB:CD:…' (what `openssl x509 -fingerprint -sha256` shows). */
  fingerprintSha256: string;
  caFingerprintSha256: string;
  /** The DNS names and IP addresses the server certificate covers. */
  dnsNames: string[];
  ipAddresses: string[];
  /** The directory holding the PEM files. */
  dir: string;
  /** The directory holding ca.crt and ca.key: `dir`, or the shared `caDir`. */
  caDir: string;
  /** True when this call made a new server certificate (first run, new address or expiry). */
  reissued: boolean;
  /** True when this call made a new CA (first run only, or the CA files were removed). */
  caCreated: boolean;
}

/** Canonical text form of an IP address, so '::1' and '0:0:0:0:0:0:0:1' compare equal. */
export function canonicalIp(address: string): string {
  const bare = address.replace(/%.*$/, '');
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return bare;
}

// RFC 1123 labels; a host name like "my_pc" cannot go in a certificate (browsers would reject it anyway).
const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The full name set wanted for `names`: always localhost, 127.0.0.1 and ::1. */
export function wantedNames(names: CertificateNames = {}): {
  dnsNames: string[];
  ipAddresses: string[];
} {
  const hostnames = names.hostnames ?? [osHostname()];
  const dns = new Set<string>(['localhost']);
  for (const raw of hostnames) {
    const host = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!DNS_NAME.test(host) || isIP(host) !== 0) continue;
    dns.add(host);
    // mDNS name (RFC 6762) that phones on the LAN resolve without a DNS server.
    if (!host.includes('.')) dns.add(`${host}.local`);
  }
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const address of names.addresses ?? []) {
    if (isIP(address.replace(/%.*$/, '')) === 0) {
      throw new TypeError(`addresses: '${address}' is not an IPv4 or IPv6 address`);
    }
    ips.add(canonicalIp(address));
  }
  return { dnsNames: [...dns], ipAddresses: [...ips] };
}

function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // RFC 5280 §4.1.2.2: serial numbers are positive
  return Buffer.from(bytes).toString('hex');
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']);
}

/** Writes via a temp file and rename; every file in the data dir is 0600 (chmod: the umask would narrow `mode`). */
async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: PRIVATE_FILE_MODE });
  await chmod(tmp, PRIVATE_FILE_MODE);
  await rename(tmp, file);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function createCa(host: string): Promise<{ certPem: string; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    // The date keeps two CAs of the same machine apart in a phone's certificate list.
    name: [
      { CN: [`imv local CA ${host} ${new Date(now).toISOString().slice(0, 10)}`] },
      { O: ['imv'] },
    ],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

async function createServerCert(
  caCertPem: string,
  caKeyPem: string,
  names: { dnsNames: string[]; ipAddresses: string[] },
): Promise<{ certPem: string; keyPem: string }> {
  const caCert = new x509.X509Certificate(caCertPem);
  const caKey = await importSigningKey(caKeyPem);
  const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [
      { CN: [names.dnsNames.find((n) => n !== 'localhost') ?? 'localhost'] },
      { O: ['imv'] },
    ],
    issuer: caCert.subjectName,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + SERVER_CERT_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...names.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** The DNS names and IPs a certificate's subjectAltName holds. */
export function certificateNames(certPem: string): { dnsNames: string[]; ipAddresses: string[] } {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.toJSON() ?? [];
  return {
    dnsNames: items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
    ipAddresses: items.filter((n) => n.type === 'ip').map((n) => canonicalIp(n.value)),
  };
}

/** Why the stored server certificate cannot be used as it is, or undefined when it can. */
function reasonToReissue(
  certPem: string,
  keyPem: string | undefined,
  caCertPem: string,
  wanted: { dnsNames: string[]; ipAddresses: string[] },
): string | undefined {
  if (keyPem === undefined) return 'server key missing';
  const cert = new NodeX509Certificate(certPem);
  const ca = new NodeX509Certificate(caCertPem);
  if (!cert.verify(ca.publicKey)) return 'not signed by the current CA';
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return 'expires soon';
  const have = certificateNames(certPem);
  const missing = [
    ...wanted.dnsNames.filter((n) => !have.dnsNames.includes(n)),
    ...wanted.ipAddresses.filter((n) => !have.ipAddresses.includes(n)),
  ];
  return missing.length > 0 ? `does not cover ${missing.join(', ')}` : undefined;
}

/**
 * Loads the CA and server certificate from `<dataDir>/tls/` (the CA from `names.caDir` when given),
 * creating them on first use. Only the
 * server certificate is re-issued (by the same CA) when it does not cover every wanted name or
 * address, so devices that trusted the CA keep trusting the server.
 */
export async function ensureCertificates(
  dataDir: string,
  names: CertificateNames = {},
): Promise<Certificates> {
  // Two calls at once on one directory (a server and a test, two listeners) must not each make a CA.
  const dir = path.resolve(dataDir, 'tls');
  const previous = pending.get(dir) ?? Promise.resolve();
  const result = previous.then(
    () => loadOrCreate(dir, names),
    () => loadOrCreate(dir, names),
  );
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  pending.set(dir, settled);
  void settled.then(() => {
    if (pending.get(dir) === settled) pending.delete(dir);
  });
  return result;
}

const pending = new Map<string, Promise<void>>();

async function loadOrCreate(dir: string, names: CertificateNames): Promise<Certificates> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // Certificates written by older versions were 0644.
  privatizeTree(dir);
  const file = (name: string): string => path.join(dir, name);
  if (names.caDir !== undefined && path.resolve(names.caDir) !== dir) {
    const caDir = path.resolve(names.caDir);
    return issueServerCert(dir, names, { ...(await loadOrCreateSharedCa(caDir, names)), caDir });
  }
  let caCertPem = await readIfExists(file(CA_CERT_FILE));
  let caKeyPem = await readIfExists(file(CA_KEY_FILE));
  let caCreated = false;
  if (caCertPem === undefined || caKeyPem === undefined) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createCa(
      names.hostnames?.[0] ?? osHostname(),
    ));
    // Key first: a crash in between must not leave a CA certificate without its key.
    await writeFileAtomic(file(CA_KEY_FILE), caKeyPem);
    await writeFileAtomic(file(CA_CERT_FILE), caCertPem);
    caCreated = true;
  }
  return issueServerCert(dir, names, { caCertPem, caKeyPem, caCreated, caDir: dir });
}

interface LoadedCa {
  caCertPem: string;
  caKeyPem: string;
  caCreated: boolean;
}

/**
 * The CA of a directory several nodes share. Nodes may start together on an empty one: each makes a
 * CA, the first to put its key in place wins (writeFileIfAbsent), and the others use the winner's.
 */
async function loadOrCreateSharedCa(caDir: string, names: CertificateNames): Promise<LoadedCa> {
  await mkdir(caDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  privatizeTree(caDir);
  const keyFile = path.join(caDir, CA_KEY_FILE);
  const certFile = path.join(caDir, CA_CERT_FILE);
  let caCreated = false;
  if ((await readIfExists(keyFile)) === undefined) {
    const made = await createCa(names.hostnames?.[0] ?? osHostname());
    // Key first, as for a CA of one's own: whoever holds ca.key writes ca.crt.
    if (await writeFileIfAbsent(keyFile, made.keyPem)) {
      await writeFileAtomic(certFile, made.certPem);
      caCreated = true;
    }
  }
  return {
    caKeyPem: await waitForFile(() => readIfExists(keyFile), keyFile),
    caCertPem: await waitForFile(() => readIfExists(certFile), certFile),
    caCreated,
  };
}

/** The server certificate in `dir`, re-issued by the CA when it does not fit (see reasonToReissue). */
async function issueServerCert(
  dir: string,
  names: CertificateNames,
  { caCertPem, caKeyPem, caCreated, caDir }: LoadedCa & { caDir: string },
): Promise<Certificates> {
  const file = (name: string): string => path.join(dir, name);
  const wanted = wantedNames(names);
  let certPem = await readIfExists(file(SERVER_CERT_FILE));
  let keyPem = await readIfExists(file(SERVER_KEY_FILE));
  let reissued = false;
  if (
    certPem === undefined ||
    keyPem === undefined ||
    reasonToReissue(certPem, keyPem, caCertPem, wanted) !== undefined
  ) {
    // Keep every name the old certificate covered: a laptop moving between networks should not
    // flip-flop certificates (and CLI pins) each time.
    const previous =
      certPem !== undefined && !caCreated
        ? certificateNames(certPem)
        : { dnsNames: [], ipAddresses: [] };
    const merged = {
      dnsNames: [...new Set([...wanted.dnsNames, ...previous.dnsNames])],
      ipAddresses: [...new Set([...wanted.ipAddresses, ...previous.ipAddresses])],
    };
    ({ certPem, keyPem } = await createServerCert(caCertPem, caKeyPem, merged));
    await writeFileAtomic(file(SERVER_KEY_FILE), keyPem);
    await writeFileAtomic(file(SERVER_CERT_FILE), certPem);
    reissued = true;
  }

  const covered = certificateNames(certPem);
  return {
    caCertPem,
    certPem,
    chainPem: `${certPem.trimEnd()}\n${caCertPem.trimEnd()}\n`,
    keyPem,
    fingerprintSha256: new NodeX509Certificate(certPem).fingerprint256,
    caFingerprintSha256: new NodeX509Certificate(caCertPem).fingerprint256,
    dnsNames: covered.dnsNames,
    ipAddresses: covered.ipAddresses,
    dir,
    caDir,
    reissued,
    caCreated,
  };
}
