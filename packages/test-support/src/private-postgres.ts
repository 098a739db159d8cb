import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/** Where Debian puts the server binaries (postgresql-NN). */
function postgresBinDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL server of a test's own (a temp cluster on a free port), so a fault test can stop
 * and start it without touching the shared one on 5432. As root, initdb runs as user postgres.
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** `postgres://postgres@127.0.0.1:PORT` (trust auth); append `/postgres` for its database. */
  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}`;
  }

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'imv-private-pg-'));
    const bin = postgresBinDir();
    const pg = new PrivatePostgres(dir, await freePort(), bin);
    if (userInfo().uid === 0) chownSync(dir, ...pg.postgresIds());
    pg.run('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '-N']);
    pg.start();
    return pg;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  private postgresIds(): [number, number] {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return [uid, gid];
  }

  private run(tool: string, args: string[]): void {
    const command = path.join(this.bin, tool);
    if (userInfo().uid === 0) {
      execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'ignore' });
    } else {
      execFileSync(command, args, { stdio: 'ignore' });
    }
  }

  /** Starts the server and waits until it accepts connections. */
  start(): void {
    this.run('pg_ctl', [
      ...['-D', this.dataDir, '-l', path.join(this.dir, 'log'), '-w', 'start'],
      ...['-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`],
    ]);
  }

  /** Stops the server at once (fast shutdown: open connections are cut). */
  stop(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Stops the server if it runs and removes its files. */
  dispose(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
