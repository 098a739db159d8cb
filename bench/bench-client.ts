/*
 * What the fan-out bench's processes share: opening a client on either server, and the clock that
 * stamps frames. process.hrtime is CLOCK_MONOTONIC, the same in every process on the machine, so
 * a listener in another process can subtract the talker's send time.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '@imv/protocol';

export type Kind = 'imv' | 'bare';
export const ROOM = 'bench';

/** Milliseconds on the machine-wide monotonic clock. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Opens a WebSocket; for imv also says hello and joins the bench room. */
export async function openClient(kind: Kind, port: number, name: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
  await once(socket, 'open');
  if (kind === 'bare') return socket;
  const joined = new Promise<void>((resolve) => {
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const msg = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
      if (msg.type === 'joined') {
        socket.off('message', onMessage);
        resolve();
      }
    };
    socket.on('message', onMessage);
  });
  socket.send(
    JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'imv-bench', name }),
  );
  socket.send(JSON.stringify({ type: 'join', room: ROOM }));
  await joined;
  return socket;
}
