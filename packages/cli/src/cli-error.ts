/** Exit codes of the imv command. */
export const EXIT = {
  OK: 0,
  /** The command ran and failed: unreadable file, server unreachable, connection lost, server error. */
  FAILURE: 1,
  /** The command line itself is wrong: unknown flag, missing argument, invalid room name. */
  USAGE: 2,
  /** Interrupted by Ctrl-C while sending (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

/** An error the CLI reports as one line `imv: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static usage(message: string): CliError {
    return new CliError(message, EXIT.USAGE);
  }
}
