import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/*
 * Pre-framed fan-out ("prepared message"): a relayed audio frame goes to every listener of a room
 * as the same WebSocket frame bytes, so they are built once per frame, not once per listener.
 *
 * `ws.send()` per listener builds a fresh header, an options object and writes two buffers
 * (header + payload) through cork/uncork, i.e. a writev, for every socket. Here the header is built
 * once by ws's own `Sender.frame` (server-to-client frames are unmasked, RFC 6455 §5.1, so every
 * listener gets identical bytes), joined with the payload into one Buffer, and written with one
 * `socket.write` per listener: the floor for a per-socket fan-out. bench/relay-fanout.ts measures it
 * against a bare `ws` broadcast.
 *
 * This reaches into ws internals (`_socket`, `_sender`); `canWritePrepared` checks they are there
 * and test/prepared-fanout.test.ts compares the bytes on the wire, so a ws upgrade that changes
 * them fails loudly instead of sending wrong frames.
 */

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
interface SenderStatic {
  frame(data: Buffer, options: FrameOptions): Buffer[];
}
/** The parts of a ws WebSocket this module uses; not in ws's public typings. */
interface WebSocketInternals {
  _socket?: Duplex;
  _sender?: { _bufferedBytes: number };
}

// @types/ws does not declare Sender; ws exports it from both its CJS and ESM entry points.
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: SenderStatic };

/** A final, unmasked binary frame (opcode 0x2), what `ws.send(data, { binary: true })` sends from a server. */
const BINARY_FRAME: FrameOptions = {
  fin: true,
  opcode: 0x02,
  mask: false,
  readOnly: true,
  rsv1: false,
};

/** A final, unmasked text frame (opcode 0x1), what `ws.send(text)` sends from a server. */
const TEXT_FRAME: FrameOptions = { ...BINARY_FRAME, opcode: 0x01 };

/** The WebSocket frame (header + payload, one Buffer) that carries `payload` to a client. */
export function frameBinary(payload: Buffer, options = BINARY_FRAME): Buffer {
  const parts = Sender.frame(payload, options);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * The same for control text: a room's presence batch, talk-started and the like go to every member
 * as one text, so its UTF-8 bytes and header are built once per fan-out (a one-entry cache on the
 * string), not once per member.
 */
export class PreparedTextCache {
  private text: string | undefined;
  private wire: Buffer | undefined;

  wireFor(text: string): Buffer {
    if (text !== this.text || this.wire === undefined) {
      this.wire = frameBinary(Buffer.from(text, 'utf8'), TEXT_FRAME);
      this.text = text;
    }
    return this.wire;
  }
}

/** Shared by every connection of this process. */
export const preparedTexts = new PreparedTextCache();

/**
 * Remembers the last frame it prepared. A bus hands the very same Buffer to every subscriber of a
 * room in one synchronous loop, so a one-entry cache keyed by identity frames it once per fan-out
 * without the bus knowing about WebSocket framing.
 */
export class PreparedFrameCache {
  private payload: Buffer | undefined;
  private wire: Buffer | undefined;

  wireFor(payload: Buffer): Buffer {
    if (payload !== this.payload || this.wire === undefined) {
      this.wire = frameBinary(payload);
      this.payload = payload;
    }
    return this.wire;
  }
}

/** Shared by every connection of this process. */
export const preparedFrames = new PreparedFrameCache();

/**
 * True when `wire` can go straight to the socket: the ws internals are where this ws version keeps
 * them and nothing is queued inside ws's sender (only permessage-deflate or Blob sends queue there,
 * and the server uses neither), so the bytes cannot overtake an earlier message.
 */
export function canWritePrepared(ws: WebSocket): boolean {
  const internals = ws as unknown as WebSocketInternals;
  return internals._socket !== undefined && internals._sender?._bufferedBytes === 0;
}

/** Writes prepared frame bytes to an open WebSocket's socket (check `canWritePrepared` first). */
export function writePrepared(ws: WebSocket, wire: Buffer): void {
  (ws as unknown as Required<WebSocketInternals>)._socket.write(wire);
}
