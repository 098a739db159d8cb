import {
  DEFAULT_HISTORY_LIMIT,
  FRAME_HEADER_LEN,
  MAX_HISTORY_LIMIT,
  ROOM_PATTERN,
  roomKeySchema,
  writeFrameHeader,
} from '@imv/protocol';
import { writeOggOpus } from '@imv/media';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND, addressKey } from '../store/key-attempts.js';
import { RoomKeys } from '../store/room-keys.js';
import type { MessageStore, StoredFrame } from '../store/store.js';
import { HttpError } from './errors.js';

const roomParam = { type: 'string', pattern: ROOM_PATTERN.source } as const;
const idParam = { type: 'integer', minimum: 1 } as const;

interface RoomParams {
  room: string;
}
interface MessageParams extends RoomParams {
  id: number;
}
interface ListQuerystring {
  after?: number;
  before?: number;
  limit?: number;
}

/** Header carrying a keyed room's key. Never the query string: URLs end up in logs and history. */
export const ROOM_KEY_HEADER = 'x-imv-room-key';

/**
 * `.frames` download: the stored frames with their original 16-byte headers, each as
 * [u16 big-endian length][frame], so a client holding the passphrase can open sealed frames
 * (the header is AES-GCM's associated data) and mux the audio itself.
 */
export function packFramesDownload(streamId: number, frames: readonly StoredFrame[]): Buffer {
  let total = 0;
  for (const frame of frames) total += 2 + FRAME_HEADER_LEN + frame.payload.byteLength;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const frame of frames) {
    const length = FRAME_HEADER_LEN + frame.payload.byteLength;
    out.writeUInt16BE(length, pos);
    writeFrameHeader(out.subarray(pos + 2), {
      flags: frame.flags ?? 0,
      streamId,
      sequence: frame.seq,
      timestamp: frame.ts,
    });
    out.set(frame.payload, pos + 2 + FRAME_HEADER_LEN);
    pos += 2 + length;
  }
  return out;
}

/** REST access to stored voice messages: list, one message, and its audio as Ogg Opus. */
export function registerMessageRoutes(
  app: FastifyInstance,
  store: MessageStore,
  roomKeys: RoomKeys = new RoomKeys(store),
): void {
  // Keyed rooms: every route under /api/rooms/:room/messages needs the key in ROOM_KEY_HEADER.
  async function requireRoomKey(request: FastifyRequest<{ Params: RoomParams }>): Promise<void> {
    const { room } = request.params;
    const header = request.headers[ROOM_KEY_HEADER];
    const key = typeof header === 'string' ? header : undefined;
    // A malformed key can never be a room's key: not worth a hash. Say so only where a key is needed.
    const wellFormed = key === undefined || roomKeySchema.safeParse(key).success;
    let access = await roomKeys.check(room, wellFormed ? key : undefined, addressKey(request.ip));
    if (!wellFormed && access === 'required') access = 'wrong';
    if (access === 'limited')
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `room ${room}: more than ${KEY_ATTEMPT_BURST} room-key checks from this address at once or ${KEY_ATTEMPTS_PER_SECOND}/s; wait a moment`,
      );
    if (access === 'required')
      throw new HttpError(
        401,
        'ROOM_KEY_REQUIRED',
        `room ${room} has a key; send it in X-Imv-Room-Key`,
      );
    if (access === 'wrong')
      throw new HttpError(403, 'ROOM_KEY_WRONG', `wrong key for room ${room}`);
  }

  app.get<{ Params: RoomParams; Querystring: ListQuerystring }>(
    '/api/rooms/:room/messages',
    {
      schema: {
        params: { type: 'object', properties: { room: roomParam }, required: ['room'] },
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'integer', minimum: 0 },
            before: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_HISTORY_LIMIT },
          },
        },
      },
      preHandler: requireRoomKey,
    },
    async (request) => {
      const { room } = request.params;
      const { after, before, limit = DEFAULT_HISTORY_LIMIT } = request.query;
      const page = await store.listMessages(room, { after, before, limit });
      return { room, messages: page.messages, more: page.more };
    },
  );

  const messageSchema = {
    params: {
      type: 'object',
      properties: { room: roomParam, id: idParam },
      required: ['room', 'id'],
    },
  };
  const messageRoute = { schema: messageSchema, preHandler: requireRoomKey };

  async function findMessage(params: MessageParams) {
    const message = await store.getMessage(params.room, params.id);
    if (message === undefined)
      throw HttpError.notFound(`message ${params.id} in room ${params.room}`);
    return message;
  }

  app.get<{ Params: MessageParams }>('/api/rooms/:room/messages/:id', messageRoute, (request) =>
    findMessage(request.params),
  );

  // A message still recording is served as far as it is stored (its frames are flushed every 250 ms).
  app.get<{ Params: MessageParams }>(
    '/api/rooms/:room/messages/:id.ogg',
    messageRoute,
    async (request, reply) => {
      const message = await findMessage(request.params);
      if (message.encrypted) {
        throw new HttpError(
          409,
          'BAD_REQUEST',
          `message ${message.id} is end-to-end encrypted; the server cannot export its audio`,
        );
      }
      const packets = await store.readFrames(message.id);
      let file: Uint8Array;
      try {
        // Every packet is 20 ms, so the default end (all samples − pre-skip) is frameCount × 960 − 312.
        file = writeOggOpus(packets, {
          vendor: 'imv',
          tags: { TITLE: `imv ${message.room} #${message.id}`, ARTIST: message.senderName },
        });
      } catch (err) {
        throw new HttpError(
          422,
          'BAD_REQUEST',
          `message ${message.id} does not hold valid Opus audio: ${(err as Error).message}`,
        );
      }
      return reply
        .type('audio/ogg')
        .header(
          'Content-Disposition',
          `attachment; filename="imv-${message.room}-${message.id}.ogg"`,
        )
        .send(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
    },
  );

  // Works for every message; for an encrypted one it is the only way to its audio.
  app.get<{ Params: MessageParams }>(
    '/api/rooms/:room/messages/:id.frames',
    messageRoute,
    async (request, reply) => {
      const message = await findMessage(request.params);
      const { streamId, frames } = await store.readStoredFrames(message.id);
      return reply
        .type('application/octet-stream')
        .header(
          'Content-Disposition',
          `attachment; filename="imv-${message.room}-${message.id}.frames"`,
        )
        .send(packFramesDownload(streamId, frames));
    },
  );
}
