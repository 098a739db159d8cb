import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, type FixtureName } from '@imv/test-support';

/** The repo root (/work/main in development, the CI checkout elsewhere). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Audio fixtures of the repository (packages/test-support/fixtures). */
export const fixture = (name: FixtureName): string => fixturePath(name);
const bin = path.join(repoRoot, 'packages/cli/bin/imv.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `imv` process with its output collected as it arrives. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly lineWaiters: {
    stream: 'stdout' | 'stderr';
    re: RegExp;
    resolve: (m: RegExpMatchArray) => void;
  }[] = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.checkWaiters();
    });
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.checkWaiters();
    });
    this.exited = once(child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: this.stdout,
      stderr: this.stderr,
    }));
  }

  /** Resolves when stdout matches `re` (checked against everything printed so far). */
  waitForStdout(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.waitFor('stdout', re, timeoutMs);
  }

  /** Resolves when stderr matches `re`. */
  waitForStderr(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.waitFor('stderr', re, timeoutMs);
  }

  private waitFor(
    stream: 'stdout' | 'stderr',
    re: RegExp,
    timeoutMs: number,
  ): Promise<RegExpMatchArray> {
    const now = this[stream].match(re);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${stream} never matched ${re}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.lineWaiters.push({
        stream,
        re,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the process (if still running) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<CliResult> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  private checkWaiters(): void {
    for (const waiter of [...this.lineWaiters]) {
      const m = this[waiter.stream].match(waiter.re);
      if (m) {
        this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
        waiter.resolve(m);
      }
    }
  }
}

/** Starts `node packages/cli/bin/imv.js ...args`. */
export function spawnCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    input?: Uint8Array;
    /** Leave stdin open for the test to write. */ openStdin?: boolean;
    /** Run as this user and group (needs root), e.g. to meet a permission error as root. */
    user?: { uid: number; gid: number };
  } = {},
): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, IMV_SERVER: '', ...options.env },
    stdio: 'pipe',
    ...options.user,
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  else if (options.openStdin !== true) child.stdin.end();
  return new CliProcess(child);
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    input?: Uint8Array;
    user?: { uid: number; gid: number };
  } = {},
): Promise<CliResult> {
  return spawnCli(args, options).exited;
}
