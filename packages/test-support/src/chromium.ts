import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

const run = promisify(execFile);

export interface LaunchOptions {
  /** Absolute path of a WAV played as the microphone; without it the fake device beeps. */
  fakeMic?: string;
  /** Loop the WAV (default false: `%noloop`, silence after the end). */
  loop?: boolean;
  args?: string[];
  /** HOME for the browser, e.g. from homeTrustingCa (Chromium reads its TLS roots from there). */
  home?: string;
  /** Another Chromium launcher, e.g. a wrapper running it inside a network namespace. */
  executablePath?: string;
}

/** Headless Chromium (/usr/bin/chromium) with the fake-microphone flags of the development notes. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // Background pages must keep their timers and audio at full rate: tests run several at once.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    ...(options.args ?? []),
  ];
  if (options.fakeMic !== undefined) {
    args.push(
      `--use-file-for-fake-audio-capture=${options.fakeMic}${options.loop === true ? '' : '%noloop'}`,
    );
  }
  return chromium.launch({
    executablePath: options.executablePath ?? '/usr/bin/chromium',
    headless: true,
    args,
    ...(options.home !== undefined ? { env: { ...process.env, HOME: options.home } } : {}),
  });
}

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
