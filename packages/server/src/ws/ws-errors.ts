import type { ErrorCode, ErrorMessage, ProtocolError } from '@imv/protocol';

/*
 * Every error the relay sends on a WebSocket, built in one place: the code, the sentence a user
 * reads, and what caused it (`ref`: the control message type or 'frame'; `streamId` for talk errors).
 * Each code is in the protocol catalogue and docs/protocol.md.
 */

function error(code: ErrorCode, message: string, ref?: string, streamId?: number): ErrorMessage {
  const out: ErrorMessage = { type: 'error', code, message };
  if (ref !== undefined) out.ref = ref;
  if (streamId !== undefined) out.streamId = streamId;
  return out;
}

export const WsErrors = {
  /** A parse or frame-header error from the protocol package, sent as it is. */
  fromProtocol(err: ProtocolError, ref?: string): ErrorMessage {
    return error(err.code, err.message, ref);
  },

  helloRequired(got: string): ErrorMessage {
    return error('HELLO_REQUIRED', `send hello first, got "${got}"`, got);
  },

  helloRequiredForFrames(): ErrorMessage {
    return error('HELLO_REQUIRED', 'send hello before audio frames', 'frame');
  },

  helloRepeated(): ErrorMessage {
    return error('BAD_MESSAGE', 'hello was already received on this connection', 'hello');
  },

  notInRoom(
    ref: 'leave' | 'get-history' | 'talk-start' | 'set-room-key',
    streamId?: number,
  ): ErrorMessage {
    const why = ref === 'leave' ? 'this connection is in no room' : 'join a room first';
    return error('NOT_IN_ROOM', `${ref}: ${why}`, ref, streamId);
  },

  framesTooFast(ratePerSecond: number, burst: number): ErrorMessage {
    return error(
      'RATE_LIMITED',
      `frames faster than ${ratePerSecond}/s (burst ${burst}): the extra ones are dropped`,
      'frame',
    );
  },

  controlTooFast(ratePerSecond: number, burst: number): ErrorMessage {
    return error(
      'RATE_LIMITED',
      `control messages faster than ${ratePerSecond}/s (burst ${burst}): the extra ones are dropped`,
    );
  },

  keyAttemptsTooFast(
    ref: 'join' | 'set-room-key',
    burst: number,
    ratePerSecond: number,
  ): ErrorMessage {
    return error(
      'RATE_LIMITED',
      `${ref}: more than ${burst} room-key checks from this address at once or ${ratePerSecond}/s; wait a moment`,
      ref,
    );
  },

  roomAlreadyKeyed(room: string): ErrorMessage {
    return error(
      'ROOM_ALREADY_KEYED',
      `room ${room} already has a key; only the admin can change it`,
      'set-room-key',
    );
  },

  roomKeyRequired(room: string): ErrorMessage {
    return error('ROOM_KEY_REQUIRED', `room ${room} has a key; join with "key"`, 'join');
  },

  roomKeyWrong(room: string): ErrorMessage {
    return error('ROOM_KEY_WRONG', `wrong key for room ${room}`, 'join');
  },

  alreadyTalking(liveStreamId: number, streamId: number): ErrorMessage {
    return error(
      'ALREADY_TALKING',
      `talk-start: stream ${liveStreamId} is still live on this connection; stop it first`,
      'talk-start',
      streamId,
    );
  },

  shuttingDown(streamId: number): ErrorMessage {
    return error(
      'SERVER_SHUTTING_DOWN',
      'talk-start: the server is shutting down',
      'talk-start',
      streamId,
    );
  },

  streamInUse(room: string, streamId: number): ErrorMessage {
    return error(
      'STREAM_IN_USE',
      `talk-start: stream id ${streamId} is live in room ${room}; pick another`,
      'talk-start',
      streamId,
    );
  },

  /** The message row could not be created: STORE_UNAVAILABLE when the store is unreachable. */
  messageNotCreated(code: 'STORE_FAILED' | 'STORE_UNAVAILABLE', streamId: number): ErrorMessage {
    return error(
      code,
      code === 'STORE_UNAVAILABLE'
        ? 'talk-start: the message store is unreachable; try again shortly'
        : 'talk-start: the server could not create the message',
      'talk-start',
      streamId,
    );
  },

  messageNotStored(
    code: 'STORE_FAILED' | 'STORE_UNAVAILABLE',
    messageId: number,
    streamId: number,
  ): ErrorMessage {
    return error(
      code,
      code === 'STORE_UNAVAILABLE'
        ? `message ${messageId} could not be stored: the message store is unreachable`
        : `message ${messageId} could not be stored`,
      'talk-stop',
      streamId,
    );
  },

  /** The talker went quiet past the limit without stopping (safety timer). */
  messageTimedOut(maxMessageMs: number, streamId: number): ErrorMessage {
    return error('MESSAGE_TOO_LONG', `message reached ${maxMessageMs} ms`, 'frame', streamId);
  },

  messageTooLong(maxMessageMs: number, streamId: number): ErrorMessage {
    return error(
      'MESSAGE_TOO_LONG',
      `message reached the limit of ${maxMessageMs} ms; it was stored and the stream stopped`,
      'frame',
      streamId,
    );
  },

  unknownStreamStop(streamId: number): ErrorMessage {
    return error(
      'UNKNOWN_STREAM',
      `talk-stop: no live stream ${streamId} on this connection`,
      'talk-stop',
      streamId,
    );
  },

  unknownStreamFrame(streamId: number): ErrorMessage {
    return error(
      'UNKNOWN_STREAM',
      `frame for stream ${streamId}, which this connection has not started; send talk-start first`,
      'frame',
      streamId,
    );
  },

  encryptionMismatch(startedEncrypted: boolean, streamId: number): ErrorMessage {
    return error(
      'ENCRYPTION_MISMATCH',
      startedEncrypted
        ? `stream ${streamId} was started encrypted but this frame is not; it was dropped`
        : `stream ${streamId} was started unencrypted but this frame is encrypted; it was dropped`,
      'frame',
      streamId,
    );
  },

  internal(): ErrorMessage {
    return error('INTERNAL', 'the server failed to handle this message');
  },

  echoLimited(perMinute: number, waitS: number, streamId: number): ErrorMessage {
    return error(
      'ECHO_LIMITED',
      `at most ${perMinute} echo tests a minute on one connection: try again in ${waitS} s`,
      'echo-start',
      streamId,
    );
  },
} as const;
