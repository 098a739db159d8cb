import { Command, CommanderError } from 'commander';
import { ImvClientError } from './client/client-error.js';
import { CliError, EXIT } from './cli-error.js';
import { registerAdmin } from './commands/admin.js';
import { registerDiscover } from './commands/discover.js';
import { registerHistory } from './commands/history.js';
import { registerListen } from './commands/listen.js';
import { registerSend } from './commands/send.js';
import { registerServe } from './commands/serve.js';
import { registerStore } from './commands/store.js';
import { DEFAULT_SERVER_URL } from './client/server-url.js';
import { defaultName } from './default-name.js';
import { CLI_VERSION } from './version.js';

const program = new Command('imv')
  .description('imv: live push-to-talk and voice messages on one local network')
  .version(CLI_VERSION, '-V, --version')
  .option('-s, --server <url>', `imv server (default: $IMV_SERVER or ${DEFAULT_SERVER_URL})`)
  .option('-n, --name <name>', `your display name (default: ${defaultName()})`)
  .option(
    '--ca <file>',
    'https: trust the server certificate signed by this CA (e.g. its ca.crt) instead of pinning',
  )
  .option(
    '--trust-new',
    'https: accept and pin a server certificate that differs from the pinned one',
  )
  .option('--insecure', 'https: skip every certificate check (pins nothing)')
  .option('--discover', 'use the imv server found on the local network (mDNS) instead of --server')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ imv serve --port 8080 --data ./data          run a server
  $ imv send hello.wav --room crew               talk a WAV or Ogg Opus file into a room, live
  $ sox talk.mp3 -t wav - | imv send - -r crew  send what another program writes
  $ imv listen --room crew --out ./inbox         print and save each message as it arrives
  $ imv history --room crew                      list stored messages
  $ imv discover                                 list the imv servers on the local network
  $ imv --discover listen --room crew            listen on the server found on the network
  $ imv admin rooms --data ./data                list rooms (admin token from the data dir)
  $ imv store copy --from sqlite:./data/imv.sqlite --to postgres://imv@db.lan/imv
                                                 bring a history into PostgreSQL

Environment:
  IMV_SERVER   server URL used when --server is not given (e.g. http://192.168.1.20:8080)
  IMV_PLAYER   command used by "listen --play" (the file is appended)
  IMV_CONFIG_DIR  where known_hosts.json keeps pinned https certificates (default ~/.config/imv)
  IMV_ROOM_KEY    room key for keyed rooms (--key)
  IMV_PASSPHRASE  end-to-end passphrase (--passphrase)
  IMV_ADMIN_TOKEN admin token for "imv admin" (--token)
  IMV_STORE       message store of "imv serve" (--store)
  IMV_PUBLIC_HOST host names "imv serve" answers to besides its own (--public-host)

Exit codes: 0 success, 1 failure (file, network, server), 2 bad command line, 130 send interrupted.`,
  );

// Subcommands are created through program.command(), so they inherit exitOverride and help settings.
registerServe(program);
registerSend(program);
registerListen(program);
registerHistory(program);
registerAdmin(program);
registerDiscover(program);
registerStore(program);

function describe(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ImvClientError) return { message: error.message, exitCode: EXIT.FAILURE };
  if (error instanceof TypeError && error.message.startsWith('server URL')) {
    return { message: error.message, exitCode: EXIT.USAGE };
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { message: `unexpected error: ${detail}`, exitCode: EXIT.FAILURE };
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (or the help / version).
    process.exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  } else {
    const { message, exitCode } = describe(error);
    process.stderr.write(`imv: ${message}\n`);
    process.exitCode = exitCode;
  }
}
