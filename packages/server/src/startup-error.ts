/**
 * A start-up failure the user can fix (port in use, no permission, unusable data dir, bad
 * certificate files). Its message is one line naming the port or path and what to do; `imv serve`
 * prints it without a stack.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** Binding a listener failed. `flag` is the option that picks its port (`--port`, `--https-port`). */
  static listen(err: unknown, host: string, port: number, flag: string): StartupError {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${host}:${port}`;
    let message: string;
    switch (code) {
      case 'EADDRINUSE':
        message = `port ${port} is already in use (${where}): stop the program using it or choose another ${flag}`;
        break;
      case 'EACCES':
      case 'EPERM':
        message =
          `no permission to listen on port ${port} (${where}): ports below 1024 need root or ` +
          `CAP_NET_BIND_SERVICE; choose a ${flag} of 1024 or more`;
        break;
      case 'EADDRNOTAVAIL':
        message = `cannot listen on ${where}: ${host} is not an address of this machine; choose one of its addresses with --host, or 0.0.0.0`;
        break;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        message = `cannot listen on ${where}: the host name ${host} does not resolve; give an IP address with --host`;
        break;
      default:
        message = `cannot listen on ${where}: ${(err as Error).message}`;
    }
    return new StartupError(message, { cause: err });
  }

  /** The data dir (or a file in it) cannot be created, read or written. */
  static dataDir(err: unknown, dir: string): StartupError {
    const error = err as NodeJS.ErrnoException;
    const file = error.path ?? dir;
    let why: string;
    switch (error.code) {
      case 'EACCES':
      case 'EPERM':
        why = 'permission denied';
        break;
      case 'ENOTDIR':
      case 'EEXIST':
        why = 'a file is in the way where a directory is needed';
        break;
      case 'EROFS':
        why = 'the file system is read-only';
        break;
      case 'ENOSPC':
        why = 'the disk is full';
        break;
      default:
        why = error.message;
    }
    return new StartupError(
      `cannot use the data dir ${dir} (${file}: ${why}): choose a directory you can write with --data, or fix its permissions`,
      { cause: err },
    );
  }
}
