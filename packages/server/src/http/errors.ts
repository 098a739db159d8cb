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

  /** What goes on the wire. */
  get body(): HttpErrorBody {
    return { code: this.code, message: this.message, statusCode: this.statusCode };
  }

  /** The code for a 4xx status; a status without a code of its own is answered as 400 BAD_REQUEST. */
  static forStatus(statusCode: number, message: string): HttpError {
    const code = CODE_OF_STATUS[statusCode];
    return code === undefined
      ? new HttpError(400, 'BAD_REQUEST', message)
      : new HttpError(statusCode, code, message);
  }

  static notFound(what: string): HttpError {
    return new HttpError(404, 'NOT_FOUND', `${what} not found`);
  }

  static noRoute(method: string, path: string): HttpError {
    return new HttpError(404, 'NOT_FOUND', `no route ${method} ${path}`);
  }

  static noLocalCa(): HttpError {
    return new HttpError(
      404,
      'NOT_FOUND',
      'this server uses its own certificate (certFile), not a local imv CA: there is nothing to install',
    );
  }

  static hostNotAllowed(host: string | undefined): HttpError {
    return new HttpError(
      421,
      'HOST_NOT_ALLOWED',
      `this server does not answer to host ${host === undefined ? '(none)' : JSON.stringify(host)}: ` +
        'open it by its address or one of its names, or start it with --public-host <name>',
    );
  }

  static originNotAllowed(origin: string | undefined): HttpError {
    return new HttpError(
      403,
      'ORIGIN_NOT_ALLOWED',
      `WebSocket from origin ${String(origin)} refused: open the page from this server`,
    );
  }

  static tooManyConnections(address: string, open: number, max: number): HttpError {
    return new HttpError(
      429,
      'TOO_MANY_CONNECTIONS',
      `${address} already has ${open} open connections (at most ${max}); close some and retry`,
    );
  }

  static tooManyWebSockets(address: string, open: number, max: number): HttpError {
    return new HttpError(
      429,
      'TOO_MANY_CONNECTIONS',
      `${address} already has ${open} open WebSockets (at most ${max})`,
    );
  }

  static storeUnavailable(): HttpError {
    return new HttpError(
      503,
      'STORE_UNAVAILABLE',
      'the message store is unreachable; try again shortly',
    );
  }

  static internal(): HttpError {
    return new HttpError(500, 'INTERNAL', 'internal server error');
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
    let answer: HttpError;
    if (error instanceof HttpError) {
      answer = error;
    } else if ((error as Error) instanceof StoreUnavailableError) {
      answer = HttpError.storeUnavailable();
      request.log.warn({ err: error, code: answer.code, url: request.url }, 'store unreachable');
    } else if (error.validation !== undefined) {
      answer = HttpError.badRequest(error.message);
    } else if (error.statusCode !== undefined && error.statusCode < 500) {
      answer = HttpError.forStatus(error.statusCode, error.message);
    } else {
      answer = HttpError.internal();
      request.log.error({ err: error, code: answer.code, url: request.url }, 'request failed');
    }
    const body = answer.body;
    if (body.statusCode < 500)
      request.log.info(
        { code: body.code, url: request.url, status: body.statusCode },
        body.message,
      );
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = HttpError.noRoute(request.method, request.url.split('?')[0] ?? '');
    request.log.info({ code: answer.code, url: request.url, status: 404 }, 'no such route');
    return reply.status(404).send(answer.body);
  });
}

/** A whole HTTP/1.1 error response for a socket that never reached fastify; the socket closes after it. */
export function rawErrorResponse(error: HttpError): string {
  const body = JSON.stringify(error.body);
  return (
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\n` +
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
  if (socket.writable) socket.write(rawErrorResponse(HttpError.forStatus(status, message)));
  socket.destroy();
}
