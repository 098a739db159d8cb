/*
 * A bench listener on a bare TCP socket: the HTTP upgrade and the WebSocket framing (RFC 6455 §5.2)
 * by hand, so that receiving costs a header parse per frame and no per-message allocation or event.
 * With `ws` clients, 1,000+ listeners on the bench's 2 cores spend more CPU receiving than the
 * server spends sending, and the bench measures its own clients. Not a general WebSocket client:
 * no fragmentation, no close handshake; it answers pings so the server keeps it.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { PROTOCOL_VERSION } from '@imv/protocol';
import { ROOM, type Kind } from './bench-client.js';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** A final, masked client frame. The all-zero mask key is valid and leaves the payload as is. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new RangeError('bench control messages stay under 126 bytes');
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x80 | opcode; // FIN + opcode
  frame[1] = 0x80 | payload.length; // MASK + 7-bit length; bytes 2-5 are the zero mask key
  payload.copy(frame, 6);
  return frame;
}

export class RawListener {
  /** Every byte received after the upgrade answer. */
  bytesReceived = 0;
  private pending: Buffer = Buffer.alloc(0);
  private joined: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    /** Called with each binary message (a view into the received bytes, valid during the call). */
    private readonly onBinary: (message: Buffer) => void,
  ) {}

  static async open(
    kind: Kind,
    port: number,
    name: string,
    onBinary: (message: Buffer) => void,
    protocol = PROTOCOL_VERSION,
  ): Promise<RawListener> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let head = Buffer.alloc(0);
    while (head.indexOf('\r\n\r\n') < 0) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head = Buffer.concat([head, chunk]);
    }
    if (!head.toString('latin1', 0, 12).startsWith('HTTP/1.1 101'))
      throw new Error(`upgrade refused: ${head.toString('latin1').split('\r\n')[0]}`);
    const listener = new RawListener(socket, onBinary);
    const joined =
      kind === 'imv'
        ? new Promise<void>((resolve) => (listener.joined = resolve))
        : Promise.resolve();
    socket.on('data', (chunk: Buffer) => listener.onData(chunk));
    listener.onData(head.subarray(head.indexOf('\r\n\r\n') + 4));
    if (kind === 'imv') {
      const hello = { type: 'hello', protocol, client: 'imv-bench', name };
      socket.write(clientFrame(OPCODE_TEXT, Buffer.from(JSON.stringify(hello))));
      socket.write(
        clientFrame(OPCODE_TEXT, Buffer.from(JSON.stringify({ type: 'join', room: ROOM }))),
      );
    }
    await joined;
    return listener;
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      if (bytes.length - at < 2) break;
      const opcode = bytes[at]! & 0x0f;
      const length7 = bytes[at + 1]! & 0x7f; // server frames are never masked
      let headerLen = 2;
      let payloadLen = length7;
      if (length7 === 126) {
        if (bytes.length - at < 4) break;
        headerLen = 4;
        payloadLen = bytes.readUInt16BE(at + 2);
      } else if (length7 === 127) {
        if (bytes.length - at < 10) break;
        headerLen = 10;
        payloadLen = Number(bytes.readBigUInt64BE(at + 2));
      }
      const end = at + headerLen + payloadLen;
      if (bytes.length < end) break;
      const payload = bytes.subarray(at + headerLen, end);
      if (opcode === OPCODE_BINARY) this.onBinary(payload);
      else if (opcode === OPCODE_PING) this.socket.write(clientFrame(OPCODE_PONG, payload));
      else if (opcode === OPCODE_TEXT && this.joined !== undefined) {
        // Only until joined: presence and other control traffic afterwards is skipped unread.
        if (payload.includes('"type":"joined"')) {
          this.joined();
          this.joined = undefined;
        }
      }
      at = end;
    }
    // Keep only the unfinished tail (copied, so the big chunk it came from can be freed).
    this.pending = at === bytes.length ? Buffer.alloc(0) : Buffer.from(bytes.subarray(at));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
