import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from './repo.js';

/*
 * The real `imv` command in tests: packages/cli/bin/imv.js run by this Node, with its output
 * collected as it arrives, and `imv serve` on a free port for the end-to-end tests.
 */

/** packages/cli/bin/imv.js: the command as users run it. */
export const imvBin = path.join(repoRoot, 'packages/cli/bin/imv.js');

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
  const child = spawn(process.execPath, [imvBin, ...args], {
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

/** A real `imv serve --port 0` process. */
export interface ServeProcess {
  url: string;
  port: number;
  process: CliProcess;
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `imv serve` on a free port (or `port`) with `dataDir` and waits for its banner. */
export async function startServe(
  dataDir: string,
  options: {
    port?: number;
    args?: string[];
    /** How long the banner may take (several nodes starting at once on a busy machine are slow). */
    timeoutMs?: number;
  } = {},
): Promise<ServeProcess> {
  const port = options.port ?? 0;
  const proc = spawnCli([
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data',
    dataDir,
    '--log-level',
    'warn',
    ...(options.args ?? []),
  ]);
  const exitedEarly = proc.exited.then((r) => {
    throw new Error(
      `imv serve exited (${r.code ?? r.signal}) before its banner:\n${r.stdout}\n${r.stderr}`,
    );
  });
  // The banner: "imv server listening" then one URL per line.
  const match = await Promise.race([
    proc.waitForStdout(/imv server listening\n\s*http:\/\/127\.0\.0\.1:(\d+)/, options.timeoutMs),
    exitedEarly,
  ]);
  exitedEarly.catch(() => undefined);
  const boundPort = Number(match[1]);
  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    process: proc,
    stop: async (signal = 'SIGTERM') => {
      await proc.stop(signal);
    },
  };
}

export interface ServedTempDir {
  /** A fresh temp directory, removed after the file's tests. */
  readonly tmp: string;
  /** `imv serve` on a free port with its data in `<tmp>/data`, stopped after the file's tests. */
  readonly server: ServeProcess;
}

/**
 * Registers beforeAll/afterAll for an end-to-end test file: a temp dir named `prefix…` and a real
 * `imv serve` with its data in it. Read `tmp` and `server` inside hooks and tests.
 */
export function servedTempDir(prefix: string): ServedTempDir {
  let tmp: string | undefined;
  let server: ServeProcess | undefined;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
    server = await startServe(path.join(tmp, 'data'));
  });
  afterAll(async () => {
    await server?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is set up in beforeAll`);
    return value;
  };
  return {
    get tmp() {
      return ready(tmp, 'tmp');
    },
    get server() {
      return ready(server, 'server');
    },
  };
}
