import { MAX_HISTORY_LIMIT, ROOM_PATTERN } from '@imv/protocol';
import { writeOggOpus } from '@imv/media';
import type { FastifyInstance } from 'fastify';
import type { MessageStore } from '../store/store.js';
import { DEFAULT_HISTORY_LIMIT } from '../ws/connection.js';
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

/** REST access to stored voice messages: list, one message, and its audio as Ogg Opus. */
export function registerMessageRoutes(app: FastifyInstance, store: MessageStore): void {
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

  async function findMessage(params: MessageParams) {
    const message = await store.getMessage(params.room, params.id);
    if (message === undefined)
      throw HttpError.notFound(`message ${params.id} in room ${params.room}`);
    return message;
  }

  app.get<{ Params: MessageParams }>(
    '/api/rooms/:room/messages/:id',
    { schema: messageSchema },
    (request) => findMessage(request.params),
  );

  // A message still recording is served as far as it is stored (its frames are flushed every 250 ms).
  app.get<{ Params: MessageParams }>(
    '/api/rooms/:room/messages/:id.ogg',
    { schema: messageSchema },
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
}
