import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@imv/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { StoreUnavailableError } from '../store/store-errors.js';

/** The body of every REST error. */
export interface HttpErrorBody {
  code: ErrorCode;
  message: string;
  statusCode: number;
}

/**
 * The code of an error status that no route chose itself (fastify's body limit, a bad Range on a
 * static file, a path traversal that the static handler refuses, …): one code per status.
 */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  429: 'TOO_MANY_CONNECTIONS',
  431: 'HEADERS_TOO_LARGE',
};

/** The code for a 4xx status; a status without a code of its own is answered as 400 BAD_REQUEST. */
function bodyForStatus(statusCode: number, message: string): HttpErrorBody {
  const code = CODE_OF_STATUS[statusCode];
  return code === undefined
    ? { code: 'BAD_REQUEST', message, statusCode: 400 }
    : { code, message, statusCode };
}

/** A REST error with a protocol ErrorCode; the body is `{ code, message, statusCode }`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  static notFound(what: string): HttpError {
    return new HttpError(404, 'NOT_FOUND', `${what} not found`);
  }

  static badRequest(message: string): HttpError {
    return new HttpError(400, 'BAD_REQUEST', message);
  }

  static unauthorized(message: string): HttpError {
    return new HttpError(401, 'UNAUTHORIZED', message);
  }

  static forbidden(message: string): HttpError {
    return new HttpError(403, 'FORBIDDEN', message);
  }

  static roomKeyRequired(room: string, header: string): HttpError {
    return new HttpError(401, 'ROOM_KEY_REQUIRED', `room ${room} has a key; send it in ${header}`);
  }

  static keyAttemptsLimited(room: string, burst: number, ratePerSecond: number): HttpError {
    return new HttpError(
      429,
      'RATE_LIMITED',
      `room ${room}: more than ${burst} room-key checks from this address at once or ${ratePerSecond}/s; wait a moment`,
    );
  }

  static roomKeyWrong(room: string): HttpError {
    return new HttpError(403, 'ROOM_KEY_WRONG', `wrong key for room ${room}`);
  }

  static messageEncrypted(id: number): HttpError {
    return new HttpError(
      409,
      'MESSAGE_ENCRYPTED',
      `message ${id} is end-to-end encrypted; the server cannot export its audio (download .frames)`,
    );
  }

  static messageRecording(id: number): HttpError {
    return new HttpError(
      409,
      'MESSAGE_RECORDING',
      `message ${id} is still being recorded; delete it once it has stopped`,
    );
  }

  static audioInvalid(id: number, why: string): HttpError {
    return new HttpError(
      422,
      'AUDIO_INVALID',
      `message ${id} does not hold valid Opus audio: ${why}`,
    );
  }
}

/** Every error response, validation and unknown routes included, takes the shape { code, message, statusCode }. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    let body: HttpErrorBody;
    if (error instanceof HttpError) {
      body = { code: error.code, message: error.message, statusCode: error.statusCode };
    } else if ((error as Error) instanceof StoreUnavailableError) {
      request.log.warn(
        { err: error, code: 'STORE_UNAVAILABLE', url: request.url },
        'store unreachable',
      );
      body = {
        code: 'STORE_UNAVAILABLE',
        message: 'the message store is unreachable; try again shortly',
        statusCode: 503,
      };
    } else if (error.validation !== undefined) {
      body = { code: 'BAD_REQUEST', message: error.message, statusCode: 400 };
    } else if (error.statusCode !== undefined && error.statusCode < 500) {
      body = bodyForStatus(error.statusCode, error.message);
    } else {
      request.log.error({ err: error, code: 'INTERNAL', url: request.url }, 'request failed');
      body = { code: 'INTERNAL', message: 'internal server error', statusCode: 500 };
    }
    if (body.statusCode < 500)
      request.log.info(
        { code: body.code, url: request.url, status: body.statusCode },
        body.message,
      );
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ code: 'NOT_FOUND', url: request.url, status: 404 }, 'no such route');
    return reply.status(404).send({
      code: 'NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      statusCode: 404,
    } satisfies HttpErrorBody);
  });
}

/** A whole HTTP/1.1 error response for a socket that never reached fastify; the socket closes after it. */
export function rawErrorResponse(statusCode: number, message: string): string {
  const body = JSON.stringify(bodyForStatus(statusCode, message));
  return (
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Node's `clientError` (a request that timed out, headers too large, unparsable bytes) with the
 * same coded body as every other REST error; fastify's default answers without a code.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = 'the request could not be parsed';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'the request did not arrive in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'the request headers are too large';
  }
  // As node and fastify do: write what fits now, then cut the socket.
  if (socket.writable) socket.write(rawErrorResponse(status, message));
  socket.destroy();
}
