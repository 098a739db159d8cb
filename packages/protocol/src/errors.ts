import { FRAME_HEADER_LEN, FRAME_VERSION, MAX_FRAME_BYTES } from './frame-layout.js';

/**
 * Every error a client can cause or meet, with a stable string code. Each code has a row in
 * docs/protocol.md (a test keeps the two in sync).
 */
export const ERROR_CODES = [
  // connection and control messages
  'VERSION_MISMATCH',
  'HELLO_REQUIRED',
  'BAD_JSON',
  'BAD_MESSAGE',
  'UNKNOWN_TYPE',
  'TEXT_TOO_LARGE',
  // binary frames
  'FRAME_TOO_SHORT',
  'FRAME_TOO_LARGE',
  'FRAME_VERSION',
  'FRAME_RESERVED_BITS',
  'FRAME_EMPTY',
  'UNKNOWN_STREAM',
  // rooms and talking
  'NOT_IN_ROOM',
  'ALREADY_TALKING',
  'STREAM_IN_USE',
  'MESSAGE_TOO_LONG',
  // access control and limits
  'ROOM_KEY_REQUIRED',
  'ROOM_KEY_WRONG',
  'ROOM_ALREADY_KEYED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'ECHO_LIMITED',
  // end-to-end encryption (raised in clients; the relay never holds the key)
  'DECRYPT_FAILED',
  'ENCRYPTION_MISMATCH',
  // storage and server
  'STORE_FAILED',
  'STORE_UNAVAILABLE',
  'NOT_FOUND',
  'BAD_REQUEST',
  // REST: every error status has its own code
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RANGE_NOT_SATISFIABLE',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'MESSAGE_ENCRYPTED',
  'MESSAGE_RECORDING',
  'AUDIO_INVALID',
  'SERVER_SHUTTING_DOWN',
  'INTERNAL',
  // WebSocket upgrade refused (HTTP status before any WebSocket exists)
  'ORIGIN_NOT_ALLOWED',
  'TOO_MANY_CONNECTIONS',
  // any HTTP request or WebSocket upgrade for a host name the server does not answer to
  'HOST_NOT_ALLOWED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes used by imv besides the standard ones (1001 going away, 1009 too big). */
export const CLOSE_CODES = {
  /** The client speaks another protocol major version. */
  VERSION_MISMATCH: 4001,
  /** No hello arrived in time after the socket opened. */
  HELLO_TIMEOUT: 4002,
} as const;

/** A protocol-level error with a stable code; sent to clients as `{ type: 'error', code, message }`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static badJson(cause: unknown): ProtocolError {
    return new ProtocolError(
      'BAD_JSON',
      `control message is not valid JSON: ${(cause as Error).message}`,
      { cause },
    );
  }

  static textTooLarge(bytes: number, maxBytes: number): ProtocolError {
    return new ProtocolError(
      'TEXT_TOO_LARGE',
      `control message is ${bytes} B, at most ${maxBytes} B are allowed`,
    );
  }

  static unknownType(type: string): ProtocolError {
    return new ProtocolError('UNKNOWN_TYPE', `unknown message type "${type.slice(0, 40)}"`);
  }

  /** A message (or a field, or a download body) that does not have the documented shape. */
  static badMessage(message: string, cause?: unknown): ProtocolError {
    return new ProtocolError('BAD_MESSAGE', message, cause === undefined ? undefined : { cause });
  }

  static frameTooShort(len: number): ProtocolError {
    return new ProtocolError(
      'FRAME_TOO_SHORT',
      `frame is ${len} B, the header needs ${FRAME_HEADER_LEN} B`,
    );
  }

  static frameTooLarge(len: number): ProtocolError {
    return new ProtocolError(
      'FRAME_TOO_LARGE',
      `frame is ${len} B, at most ${MAX_FRAME_BYTES} B are allowed`,
    );
  }

  static frameVersion(version: number): ProtocolError {
    return new ProtocolError(
      'FRAME_VERSION',
      `frame header version is ${version}, this server speaks frame version ${FRAME_VERSION}`,
    );
  }

  static frameReservedBits(flags: number): ProtocolError {
    return new ProtocolError(
      'FRAME_RESERVED_BITS',
      `frame header has unknown flags or reserved bits set (flags 0x${flags.toString(16).padStart(2, '0')})`,
    );
  }

  static frameEmpty(): ProtocolError {
    return new ProtocolError('FRAME_EMPTY', 'frame has no Opus payload and no END flag');
  }

  static decryptFailed(streamId: number, why: string, cause?: unknown): ProtocolError {
    return new ProtocolError(
      'DECRYPT_FAILED',
      `cannot decrypt stream ${streamId}: ${why}; check the room passphrase`,
      cause === undefined ? undefined : { cause },
    );
  }

  static versionMismatch(theirs: number, ours: number): ProtocolError {
    return new ProtocolError(
      'VERSION_MISMATCH',
      `client speaks protocol ${theirs}, this server speaks protocol ${ours}: update the client or the server`,
    );
  }
}
