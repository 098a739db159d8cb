import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StartupError } from '../startup-error.js';
import { ensureCertificates, type Certificates } from './certificates.js';

/** What the HTTPS listener serves, from the local CA or from the operator's own files. */
export interface ServerCredentials {
  keyPem: string;
  /** Server certificate, then the chain up to (for the local CA: including) the root. */
  chainPem: string;
  fingerprintSha256: string;
  /** Present only with the generated local CA: the operator's own CA is not ours to hand out. */
  local?: Certificates;
}

export interface CredentialOptions {
  dataDir: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  hostnames: string[];
  addresses: string[];
  /** A CA directory shared with other nodes (see CertificateNames.caDir). */
  caDir?: string | undefined;
}

const FIX = 'give --cert a PEM certificate chain and --key-file its PEM private key';

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new StartupError(`cannot read the ${what} ${file} (${why}): ${FIX}`, { cause: err });
  }
}

/**
 * The operator's certificate when certFile/keyFile are given (checked to parse and to belong
 * together), else the local CA's certificate for every name and address, made or re-issued as needed.
 */
export async function loadServerCredentials(
  options: CredentialOptions,
): Promise<ServerCredentials> {
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    const chainPem = await readPem(options.certFile, 'certificate file');
    const keyPem = await readPem(options.keyFile, 'key file');
    let cert: X509Certificate;
    try {
      // The first certificate of a chain file is the server's own.
      cert = new X509Certificate(chainPem);
    } catch (err) {
      throw new StartupError(`${options.certFile} is not a PEM certificate: ${FIX}`, {
        cause: err,
      });
    }
    let matches: boolean;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(keyPem));
    } catch (err) {
      throw new StartupError(`${options.keyFile} is not a PEM private key: ${FIX}`, {
        cause: err,
      });
    }
    if (!matches) {
      throw new StartupError(
        `${options.keyFile} is not the private key of ${options.certFile}: ${FIX}`,
      );
    }
    return { keyPem, chainPem, fingerprintSha256: cert.fingerprint256 };
  }
  let local: Awaited<ReturnType<typeof ensureCertificates>>;
  try {
    local = await ensureCertificates(options.dataDir, {
      hostnames: options.hostnames,
      addresses: options.addresses,
      ...(options.caDir !== undefined && { caDir: options.caDir }),
    });
  } catch (err) {
    if (typeof (err as NodeJS.ErrnoException).code === 'string')
      throw StartupError.dataDir(err, options.dataDir);
    throw new StartupError(
      options.caDir === undefined
        ? `the local certificates in ${options.dataDir}/tls cannot be used (${(err as Error).message}): move that folder away to make new ones`
        : `the local certificates in ${options.caDir} and ${options.dataDir}/tls cannot be used (${(err as Error).message})`,
      { cause: err },
    );
  }
  return {
    keyPem: local.keyPem,
    chainPem: local.chainPem,
    fingerprintSha256: local.fingerprintSha256,
    local,
  };
}
