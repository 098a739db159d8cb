import {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  REST_ROUTES,
  ROOM_KEY_HEADER,
  ROOM_PATTERN,
  packFramesDownload,
  roomKeySchema,
} from '@imv/protocol';
import { writeOggOpus } from '@imv/media';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND, addressKey } from '../store/key-attempts.js';
import { RoomKeys } from '../store/room-keys.js';
import type { MessageStore } from '../store/store.js';
import { HttpError } from './errors.js';
import { integerText, parseIntegerParam, parseOptionalIntegerParam } from './params.js';

const roomParam = { type: 'string', pattern: ROOM_PATTERN.source } as const;

interface RoomParams {
  room: string;
}
interface MessageParams extends RoomParams {
  id: string;
}
interface ListQuerystring {
  after?: string;
  before?: string;
  limit?: string;
}

/** node lower-cases incoming header names. */
const roomKeyHeader = ROOM_KEY_HEADER.toLowerCase();

/** REST access to stored voice messages: list, one message, and its audio as Ogg Opus. */
export function registerMessageRoutes(
  app: FastifyInstance,
  store: MessageStore,
  roomKeys: RoomKeys = new RoomKeys(store),
): void {
  // Keyed rooms: every route under /api/rooms/:room/messages needs the key in ROOM_KEY_HEADER.
  async function requireRoomKey(request: FastifyRequest<{ Params: RoomParams }>): Promise<void> {
    const { room } = request.params;
    const header = request.headers[roomKeyHeader];
    const key = typeof header === 'string' ? header : undefined;
    // A malformed key can never be a room's key: not worth a hash. Say so only where a key is needed.
    const wellFormed = key === undefined || roomKeySchema.safeParse(key).success;
    let access = await roomKeys.check(room, wellFormed ? key : undefined, addressKey(request.ip));
    if (!wellFormed && access === 'required') access = 'wrong';
    if (access === 'limited')
      throw HttpError.keyAttemptsLimited(room, KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND);
    if (access === 'required') throw HttpError.roomKeyRequired(room, ROOM_KEY_HEADER);
    if (access === 'wrong') throw HttpError.roomKeyWrong(room);
  }

  app.get<{ Params: RoomParams; Querystring: ListQuerystring }>(
    REST_ROUTES.messages,
    {
      schema: {
        params: { type: 'object', properties: { room: roomParam }, required: ['room'] },
        querystring: {
          type: 'object',
          properties: {
            after: integerText,
            before: integerText,
            limit: integerText,
          },
        },
      },
      preHandler: requireRoomKey,
    },
    async (request) => {
      const { room } = request.params;
      const { query } = request;
      const after = parseOptionalIntegerParam('after', query.after, 0);
      const before = parseOptionalIntegerParam('before', query.before, 1);
      const limit =
        parseOptionalIntegerParam('limit', query.limit, 1, MAX_HISTORY_LIMIT) ??
        DEFAULT_HISTORY_LIMIT;
      const page = await store.listMessages(room, { after, before, limit });
      return { room, messages: page.messages, more: page.more };
    },
  );

  const messageSchema = {
    params: {
      type: 'object',
      properties: { room: roomParam, id: integerText },
      required: ['room', 'id'],
    },
  };
  const messageRoute = { schema: messageSchema, preHandler: requireRoomKey };

  async function findMessage(params: MessageParams) {
    const id = parseIntegerParam('message id', params.id, 1);
    const message = await store.getMessage(params.room, id);
    if (message === undefined) throw HttpError.notFound(`message ${id} in room ${params.room}`);
    return message;
  }

  app.get<{ Params: MessageParams }>(REST_ROUTES.message, messageRoute, (request) =>
    findMessage(request.params),
  );

  // A message still recording is served as far as it is stored (its frames are flushed every 250 ms).
  app.get<{ Params: MessageParams }>(
    REST_ROUTES.messageOgg,
    messageRoute,
    async (request, reply) => {
      const message = await findMessage(request.params);
      if (message.encrypted) throw HttpError.messageEncrypted(message.id);
      const packets = await store.readFrames(message.id);
      let file: Uint8Array;
      try {
        // The default end is all samples − pre-skip: frameCount × 960 − 312 for a 20 ms talk, × 480 for 10 ms
        // (the writer counts each packet's samples from its TOC byte).
        file = writeOggOpus(packets, {
          vendor: 'imv',
          tags: { TITLE: `imv ${message.room} #${message.id}`, ARTIST: message.senderName },
        });
      } catch (err) {
        throw HttpError.audioInvalid(message.id, (err as Error).message);
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
    REST_ROUTES.messageFrames,
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
        .send(Buffer.from(packFramesDownload(streamId, frames).buffer));
    },
  );
}
