import type { ImvServer } from './server.js';

/** SIGTERM / SIGINT: graceful close, then exit 0 (1 if closing failed). A second signal exits at once. */
export function installSignalHandlers(server: ImvServer): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    server.log.info({ signal }, 'signal received, shutting down');
    server.close().then(
      () => server.log.flush(() => process.exit(0)),
      (err: unknown) => {
        server.log.error({ err }, 'shutdown failed');
        server.log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
