import { CliProcess, spawnCli } from './cli.js';

/** A real `imv serve --port 0` process. */
export interface ServeProcess {
  url: string;
  port: number;
  process: CliProcess;
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `imv serve` on a free port (or `port`) with `dataDir` and waits for its banner. */
export async function startServe(
  dataDir: string,
  options: {
    port?: number;
    args?: string[];
    /** How long the banner may take (several nodes starting at once on a busy machine are slow). */
    timeoutMs?: number;
  } = {},
): Promise<ServeProcess> {
  const port = options.port ?? 0;
  const proc = spawnCli([
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data',
    dataDir,
    '--log-level',
    'warn',
    ...(options.args ?? []),
  ]);
  const exitedEarly = proc.exited.then((r) => {
    throw new Error(
      `imv serve exited (${r.code ?? r.signal}) before its banner:\n${r.stdout}\n${r.stderr}`,
    );
  });
  // The banner: "imv server listening" then one URL per line.
  const match = await Promise.race([
    proc.waitForStdout(/imv server listening\n\s*http:\/\/127\.0\.0\.1:(\d+)/, options.timeoutMs),
    exitedEarly,
  ]);
  exitedEarly.catch(() => undefined);
  const boundPort = Number(match[1]);
  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    process: proc,
    stop: async (signal = 'SIGTERM') => {
      await proc.stop(signal);
    },
  };
}
