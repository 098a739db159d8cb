/**
 * The store could not be reached (database down, connection lost, timeout). The caller reports
 * STORE_UNAVAILABLE and must not acknowledge: nothing of that operation was committed.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The store named by a URL could not be opened; the message is one line naming the (masked) URL and the cause. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';

  constructor(
    readonly maskedUrl: string,
    cause: unknown,
  ) {
    super(`cannot open store ${maskedUrl}: ${describeCause(cause)}`, { cause });
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return describeCause(cause.errors[0]);
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return message.split('\n')[0]!.trim() || (typeof code === 'string' ? code : 'unknown error');
}

/** The protocol error code for a failed store write: STORE_UNAVAILABLE when the store is unreachable. */
export function storeErrorCode(err: unknown): 'STORE_UNAVAILABLE' | 'STORE_FAILED' {
  return err instanceof StoreUnavailableError ? 'STORE_UNAVAILABLE' : 'STORE_FAILED';
}
