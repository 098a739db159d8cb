import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
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
      throw new Error(`${options.certFile} is not a PEM certificate`, { cause: err });
    }
    let matches: boolean;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(keyPem));
    } catch (err) {
      throw new Error(`${options.keyFile} is not a PEM private key`, { cause: err });
    }
    if (!matches) {
      throw new Error(`${options.keyFile} is not the private key of ${options.certFile}`);
    }
    return { keyPem, chainPem, fingerprintSha256: cert.fingerprint256 };
  }
  const local = await ensureCertificates(options.dataDir, {
    hostnames: options.hostnames,
    addresses: options.addresses,
  });
  return {
    keyPem: local.keyPem,
    chainPem: local.chainPem,
    fingerprintSha256: local.fingerprintSha256,
    local,
  };
}
