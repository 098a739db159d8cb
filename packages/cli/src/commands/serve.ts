import { Option } from 'commander';
import type { Command } from 'commander';
import { intIn } from '../options.js';

interface ServeOptions {
  host: string;
  port: number;
  data: string;
  logLevel: LogLevel;
  maxMessage: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** `imv serve`: run the imv server in the foreground. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the imv server (web page, WebSocket relay, message store)')
    .option('--host <address>', 'interface to listen on', '0.0.0.0')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', intIn(0, 65535), 8080)
    .option('-d, --data <dir>', 'directory for the message store', './data')
    .option('--max-message <seconds>', 'longest voice message; a talker is stopped there', intIn(1, 24 * 3600), 300)
    .addOption(new Option('--log-level <level>', 'JSON log lines on stdout from this level up').choices(LOG_LEVELS).default('info'))
    .addHelpText(
      'after',
      `
Examples:
  $ imv serve
  $ imv serve --host 127.0.0.1 --port 9000 --data /var/lib/imv`,
    )
    .action(async (options: ServeOptions) => {
      // Loaded here, not at the top: the server's modules (fastify, SQLite) would slow every other command.
      const { installSignalHandlers, printBanner, startServer } = await import('@imv/server');
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: options.data,
        logLevel: options.logLevel,
        maxMessageMs: options.maxMessage * 1000,
      });
      printBanner(server);
      installSignalHandlers(server);
    });
}
