/** Stable codes for every way an audio file can be refused. */
export const MEDIA_ERROR_CODES = [
  'NOT_RIFF',
  'NOT_WAVE',
  'NO_FMT',
  'NO_DATA',
  'UNSUPPORTED_CODEC',
  'BAD_FORMAT',
  'UNSUPPORTED_FILE',
  'NOT_OGG',
  'OGG_CRC_MISMATCH',
  'OGG_TRUNCATED',
  'NOT_OPUS',
  'OPUS_MULTICHANNEL',
  'BAD_OPUS_PACKET',
] as const;

export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];

/** A file or packet that cannot be read; `message` says what was expected and what was found. */
export class MediaError extends Error {
  override readonly name = 'MediaError';

  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
