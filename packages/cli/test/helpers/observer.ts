import { ImvClient } from '../../src/client/imv-client.js';

/** Resolves once a member named `name` is in `room`, seen through a separate protocol client. */
export async function waitForMember(
  server: string,
  room: string,
  name: string,
  timeoutMs = 15_000,
): Promise<void> {
  const client = await ImvClient.connect(server, { name: 'test-observer' });
  try {
    const present = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} never joined ${room}`)), timeoutMs);
      client.on('presence', (p) => {
        if (p.members.some((m) => m.name === name)) {
          clearTimeout(timer);
          resolve();
        }
      });
      client.on('joined', (j) => {
        if (j.members.some((m) => m.name === name)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await client.join(room);
    await present;
  } finally {
    await client.close();
  }
}
