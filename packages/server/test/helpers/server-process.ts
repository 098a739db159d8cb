import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './opus-fixture.js';

const script = path.join(repoRoot, 'packages/server/test/fixtures/run-server.ts');

/** The server in a child process, as `imv serve` runs it. */
export class ServerProcess {
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly httpUrl: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Starts it on `dataDir`, with the store at `store` when given (else the data dir's SQLite). */
  static start(dataDir: string, store?: string): Promise<ServerProcess> {
    const args = ['--import', 'tsx', script, dataDir, ...(store === undefined ? [] : [store])];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`server did not start: ${stderr}`));
      }, 60_000);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout);
        if (match !== null && stdout.includes('imv server listening')) {
          clearTimeout(timer);
          resolve(new ServerProcess(child, match[0]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}: ${stderr}`));
      });
    });
  }

  async kill(
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
