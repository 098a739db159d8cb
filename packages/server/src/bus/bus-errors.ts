/**
 * The bus could not be set up: a `--bus` value that is not a bus URL, a bad subject prefix, or NATS
 * out of reach at start-up. The message is one line naming the (masked) URL and the cause.
 */
export class BusError extends Error {
  override readonly name = 'BusError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
