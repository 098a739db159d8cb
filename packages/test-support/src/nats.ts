import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';

/** The NATS every test shares (started before the tests; never stopped by one). */
export const SHARED_NATS_URL = process.env.IMV_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** A subject prefix no other test run uses, so runs on one NATS cannot hear each other. */
export function uniqueBusPrefix(label: string): string {
  return `imvtest.${label}.${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for a test that binds it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A nats-server of the test's own on a free port, for fault tests that stop and restart NATS
 * without disturbing the shared one. `stop` and `start` keep the port.
 */
export class PrivateNats {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNats> {
    const nats = new PrivateNats(await freePort());
    await nats.start();
    return nats;
  }

  async start(): Promise<void> {
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: 'ignore',
    });
    this.child = child;
    await Promise.race([
      waitForPort(this.port, 10_000),
      once(child, 'error').then(([err]) => {
        throw err as Error;
      }),
    ]);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
