import type { ErrorCode } from '@imv/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { StoreUnavailableError } from '../store/store-errors.js';

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
}

/** Every error response, validation and unknown routes included, takes the shape { code, message, statusCode }. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    let body: { code: ErrorCode; message: string; statusCode: number };
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
    } else if (
      error.validation !== undefined ||
      (error.statusCode !== undefined && error.statusCode < 500)
    ) {
      body = { code: 'BAD_REQUEST', message: error.message, statusCode: error.statusCode ?? 400 };
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
    });
  });
}
