import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Makes `<dir>/home` a HOME whose NSS database trusts `caCertPem` for TLS servers, the way a user
 * who installed the imv CA has it. Chromium on Linux reads its roots from $HOME/.pki/nssdb, so a
 * browser launched with this HOME checks certificates fully (no ignoreHTTPSErrors). Returns the HOME.
 */
export async function homeTrustingCa(dir: string, caCertPem: string): Promise<string> {
  const home = path.join(dir, 'home');
  const nssDb = `sql:${path.join(home, '.pki', 'nssdb')}`;
  const caFile = path.join(home, 'imv-ca.crt');
  await mkdir(path.join(home, '.pki', 'nssdb'), { recursive: true });
  await writeFile(caFile, caCertPem);
  try {
    await run('certutil', ['-d', nssDb, '-N', '--empty-password']);
    // -t 'C,,': trusted CA for TLS servers only (not e-mail, not code signing).
    await run('certutil', ['-d', nssDb, '-A', '-t', 'C,,', '-n', 'imv local CA', '-i', caFile]);
  } catch (err) {
    throw new Error('certutil failed: install it with `apt-get install -y libnss3-tools`', {
      cause: err,
    });
  }
  return home;
}
