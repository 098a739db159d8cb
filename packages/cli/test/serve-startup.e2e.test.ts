import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';

/** As root, permission errors are met as `nobody`; any other user meets them as itself. */
const UNPRIVILEGED = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

/** `imv serve` failed the way a user can fix: exit 1, one line on stderr, no stack. */
function expectOneLineFailure(result: CliResult, ...parts: (string | RegExp)[]): void {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^imv: /);
  expect(lines[0]).not.toMatch(/unexpected error|\n\s+at /);
  for (const part of parts) expect(lines[0]).toMatch(part);
}

// Each case starts the real CLI, which loads the whole server: seconds each on a busy machine.
describe('imv serve: start-up failures a user can cause', { timeout: 120_000 }, () => {
  let tmp: string;
  let taken: net.Server;
  let takenPort: number;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'imv-serve-startup-'));
    // `nobody` must be able to reach the temp dir to meet the errors below, not an earlier one.
    chmodSync(tmp, 0o755);
    taken = net.createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    takenPort = (taken.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    taken.close();
    // The locked dir of the data-dir test, so that the cleanup can enter it.
    if (existsSync(path.join(tmp, 'locked'))) chmodSync(path.join(tmp, 'locked'), 0o700);
    rmSync(tmp, { recursive: true, force: true });
  });

  const serve = (args: string[], user?: { uid: number; gid: number }): Promise<CliResult> =>
    runCli(['serve', '--host', '127.0.0.1', '--no-mdns', '--log-level', 'silent', ...args], {
      ...(user !== undefined && { user, env: { HOME: tmp } }),
    });

  it('names the http port in use and the option to change', async () => {
    const data = path.join(tmp, 'in-use');
    expectOneLineFailure(
      await serve(['--port', String(takenPort), '--no-https', '--data', data]),
      `port ${takenPort} is already in use`,
      /--port/,
    );
  });

  it('names the https port in use and the option to change', async () => {
    const data = path.join(tmp, 'in-use');
    expectOneLineFailure(
      await serve(['--port', '0', '--https-port', String(takenPort), '--data', data]),
      `port ${takenPort} is already in use`,
      /--https-port/,
    );
  });

  it('names a privileged port the user may not bind', async () => {
    const data = path.join(tmp, 'low-port');
    // A data dir the user owns, so that the port is the first thing refused.
    mkdirSync(data);
    if (UNPRIVILEGED !== undefined) chownSync(data, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    expectOneLineFailure(
      await serve(['--port', '81', '--no-https', '--data', data], UNPRIVILEGED),
      'no permission to listen on port 81',
      /1024/,
    );
  });

  it('names an address that is not on this machine', async () => {
    const result = await runCli([
      'serve',
      '--host',
      '192.0.2.1',
      '--port',
      '0',
      '--no-https',
      '--no-mdns',
      '--data',
      path.join(tmp, 'addr'),
    ]);
    expectOneLineFailure(result, '192.0.2.1', /--host/);
  });

  it('names a data dir that cannot be used', async () => {
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'not a directory');
    expectOneLineFailure(
      await serve(['--port', '0', '--no-https', '--data', file]),
      `cannot use the data dir ${file}`,
      /--data/,
    );
    // Inside a directory nobody may enter (root is let in anywhere, hence `nobody`).
    const locked = path.join(tmp, 'locked');
    const lockedData = path.join(locked, 'data');
    mkdirSync(lockedData, { recursive: true });
    chmodSync(locked, 0o000);
    expectOneLineFailure(
      await serve(['--port', '0', '--no-https', '--data', lockedData], UNPRIVILEGED),
      `cannot use the data dir ${lockedData}`,
      /permission denied/,
    );
  });

  it('names certificate files that are missing or not PEM', async () => {
    const data = path.join(tmp, 'certs');
    const missing = path.join(tmp, 'missing.pem');
    const garbage = path.join(tmp, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    expectOneLineFailure(
      await serve([
        '--port',
        '0',
        '--https-port',
        '0',
        '--cert',
        missing,
        '--key-file',
        garbage,
        '--data',
        data,
      ]),
      missing,
      /--cert/,
    );
    expectOneLineFailure(
      await serve([
        '--port',
        '0',
        '--https-port',
        '0',
        '--cert',
        garbage,
        '--key-file',
        garbage,
        '--data',
        data,
      ]),
      `${garbage} is not a PEM certificate`,
    );
  });
});
