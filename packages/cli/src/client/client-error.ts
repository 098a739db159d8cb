import type { ErrorCode, ErrorMessage } from '@imv/protocol';
import { CLOSE_CODES } from '@imv/protocol';

/** Failures that happen on the client's side of the wire, next to the server's ErrorCode catalogue. */
export type ClientErrorCode = 'UNREACHABLE' | 'NOT_IMV' | 'CONNECTION_LOST' | 'TIMEOUT' | 'CLOSED';

/** An error from ImvClient: either a server `error` message (its code) or a local connection problem. */
export class ImvClientError extends Error {
  override readonly name = 'ImvClientError';

  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static unreachable(url: string, cause: unknown): ImvClientError {
    const sysCode = (cause as { code?: unknown } | undefined)?.code;
    const detail =
      typeof sysCode === 'string'
        ? sysCode
        : ((cause as Error | undefined)?.message ?? 'unknown error');
    return new ImvClientError('UNREACHABLE', `cannot reach imv server at ${url} (${detail})`, {
      cause,
    });
  }

  static notImv(url: string, statusCode: number | undefined): ImvClientError {
    return new ImvClientError(
      'NOT_IMV',
      `${url} did not accept a WebSocket (HTTP ${statusCode ?? '?'}): is this an imv server?`,
    );
  }

  static connectionLost(url: string, closeCode: number, reason: string): ImvClientError {
    if (closeCode === CLOSE_CODES.VERSION_MISMATCH) {
      return new ImvClientError(
        'VERSION_MISMATCH',
        reason || 'the server speaks another protocol version',
      );
    }
    if (closeCode === 1001) {
      return new ImvClientError(
        'SERVER_SHUTTING_DOWN',
        `the imv server at ${url} is shutting down`,
      );
    }
    const why = reason ? `: ${reason}` : '';
    return new ImvClientError(
      'CONNECTION_LOST',
      `lost the connection to the imv server at ${url} (close ${closeCode}${why})`,
    );
  }

  static timeout(what: string, ms: number): ImvClientError {
    return new ImvClientError(
      'TIMEOUT',
      `no ${what} from the server within ${(ms / 1000).toFixed(1)} s`,
    );
  }

  static closed(): ImvClientError {
    return new ImvClientError('CLOSED', 'the client was closed');
  }

  /** A server `{ type: 'error' }` message, with its code kept. */
  static fromServer(message: ErrorMessage): ImvClientError {
    return new ImvClientError(message.code, `${message.message} (${message.code})`);
  }
}
