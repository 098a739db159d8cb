/*
 * Child process for bench/relay-fanout.ts: holds a share of the listeners, so that receiving
 * (tens of thousands of messages per second) runs apart from the talker and from the server.
 * Frames with a sequence below `firstCounted` are warm-up and not counted.
 * IPC: connect -> connected, stats -> stats { received, bytes, delaysMs }, close -> exit.
 */
import { FRAME_HEADER_LEN } from '@imv/protocol';
import { monotonicMs, type Kind } from './bench-client.js';
import { RawListener } from './raw-listener.js';

interface Connect {
  type: 'connect';
  kind: Kind;
  port: number;
  count: number;
  offset: number;
  firstCounted: number;
  /** Protocol version the listeners speak (default: the current one). */
  protocol?: number;
}

const sockets: RawListener[] = [];
let delaysMs: number[] = [];
let received = 0;
let firstCounted = 0;

function onFrame(data: Buffer): void {
  if (data.length < FRAME_HEADER_LEN + 8) return;
  if (data.readUInt32BE(8) < firstCounted) return; // sequence
  received++;
  delaysMs.push(monotonicMs() - data.readDoubleBE(FRAME_HEADER_LEN));
}

async function connect(msg: Connect): Promise<void> {
  firstCounted = msg.firstCounted;
  // A few joins in flight at once: sequential joins would make setup the slowest part of a row.
  const CONCURRENT = 16;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENT, msg.count) }, async () => {
      while (next < msg.count) {
        const i = next++;
        sockets.push(
          await RawListener.open(
            msg.kind,
            msg.port,
            `listener-${msg.offset + i}`,
            onFrame,
            msg.protocol,
          ),
        );
      }
    }),
  );
}

// The bench owns this child: exit with it instead of lingering.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: Connect | { type: 'stats' | 'close' }) => {
  if (msg.type === 'connect') {
    void connect(msg).then(() => process.send?.({ type: 'connected' }));
  } else if (msg.type === 'stats') {
    const bytes = sockets.reduce((n, s) => n + s.bytesReceived, 0);
    process.send?.({ type: 'stats', received, bytes, delaysMs: Float64Array.from(delaysMs) });
    delaysMs = [];
    received = 0;
  } else {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  }
});
process.send?.({ type: 'ready' });
