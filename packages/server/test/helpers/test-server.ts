import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../../src/index.js';
import type { ImvServer, ServerOptions } from '../../src/index.js';

/** Starts real servers on port 0 with temp data dirs and removes everything in `cleanup`. */
export class TestServers {
  private readonly servers: ImvServer[] = [];
  private readonly dirs: string[] = [];

  tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'imv-server-test-'));
    this.dirs.push(dir);
    return dir;
  }

  async start(options: ServerOptions = {}): Promise<ImvServer> {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      dataDir: options.dataDir ?? this.tempDir(),
      webRoot: options.webRoot ?? this.tempDir(),
      // Most tests skip the ~0.2 s worker start; durability and REST tests run the default worker.
      storeInWorker: false,
      // Most tests send a whole message at once; rate-limit.test.ts runs the real limits.
      frameBurst: 100_000,
      ...options,
    });
    this.servers.push(server);
    return server;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
