import { Writable } from 'node:stream';
import { Option } from 'commander';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { intIn } from '../options.js';

interface ServeOptions {
  host: string;
  port: number;
  data: string;
  logLevel: LogLevel;
  maxMessage: number;
  httpsPort?: number;
  /** false with --no-https. */
  https: boolean;
  cert?: string;
  keyFile?: string;
  caDir?: string;
  /** false with --no-mdns. */
  mdns: boolean;
  publicHost: string[];
  store?: string;
  bus: string;
  busPrefix: string;
  nodeId?: string;
  webRoot?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** --public-host names, else the comma-separated IMV_PUBLIC_HOST. */
function publicHostsOf(flags: string[], env: NodeJS.ProcessEnv): string[] {
  if (flags.length > 0) return flags;
  return (env.IMV_PUBLIC_HOST ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** `imv serve`: run the imv server in the foreground. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the imv server (web page, WebSocket relay, message store)')
    .option('--host <address>', 'interface to listen on', '0.0.0.0')
    .option(
      '-p, --port <port>',
      'TCP port of plain http (0 picks a free one)',
      intIn(0, 65535),
      8080,
    )
    .option(
      '--https-port <port>',
      'TCP port of https/wss (default 8443; 0 picks a free one, and is the default with --port 0)',
      intIn(0, 65535),
    )
    .option(
      '--no-https',
      'plain http only (browsers on other devices then cannot use the microphone)',
    )
    .option(
      '--cert <file>',
      "your own certificate chain (PEM) for https, instead of the server's generated local CA",
    )
    .option('--key-file <file>', 'the private key (PEM) of --cert')
    .addOption(
      new Option(
        '--ca-dir <dir>',
        'local CA shared by the nodes of a cluster (ca.crt, ca.key; the first node makes it), instead of <data>/tls',
      ).env('IMV_CA_DIR'),
    )
    .option('--no-mdns', 'do not announce the server on the local network (mDNS)')
    .option(
      '--public-host <name>',
      'another host name the server answers to (reverse proxy, DNS name); repeatable (default: $IMV_PUBLIC_HOST, comma-separated)',
      (name: string, names: string[]) => [...names, name],
      [],
    )
    .option(
      '-d, --data <dir>',
      'directory for the message store, certificates and admin token',
      './data',
    )
    .option(
      '--max-message <seconds>',
      'longest voice message; a talker is stopped there',
      intIn(1, 24 * 3600),
      300,
    )
    .addOption(
      new Option(
        '--store <url>',
        'where messages are kept: sqlite:PATH or postgres://user[:password]@host[:port]/db (default: imv.sqlite in --data)',
      ).env('IMV_STORE'),
    )
    .addOption(
      new Option(
        '--bus <url>',
        'how nodes share live rooms: memory (this node alone) or nats://host:port[,host:port…]',
      )
        .env('IMV_BUS')
        .default('memory'),
    )
    .addOption(
      new Option(
        '--bus-prefix <prefix>',
        'NATS subject prefix; the nodes of one cluster share it, another cluster on the same NATS uses its own',
      )
        .env('IMV_BUS_PREFIX')
        .default('imv'),
    )
    .addOption(
      new Option('--node-id <id>', "this node's name in the cluster (default: host name:port)").env(
        'IMV_NODE_ID',
      ),
    )
    .addOption(
      new Option(
        '--web-root <dir>',
        'serve the web page from this build (default: the packages/web/dist of this checkout)',
      ).env('IMV_WEB_ROOT'),
    )
    .addOption(
      new Option('--log-level <level>', 'JSON log lines on stdout from this level up')
        .choices(LOG_LEVELS)
        .default('info'),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ imv serve
  $ imv serve --host 127.0.0.1 --port 9000 --data /var/lib/imv
  $ imv serve --https-port 443 --cert fullchain.pem --key-file privkey.pem
  $ imv serve --no-https --no-mdns
  $ imv serve --public-host voice.example.org
  $ imv serve --store postgres://imv@db.lan/imv               history in PostgreSQL, one node
  $ imv serve --port 8081 --bus nats://127.0.0.1:4222 --store postgres://imv@db.lan/imv
                                                            one node of a cluster (docs/cluster.md)
  $ imv serve --ca-dir /srv/imv-ca …                        every node of a cluster, one CA`,
    )
    .action(async (options: ServeOptions) => {
      if ((options.cert === undefined) !== (options.keyFile === undefined)) {
        throw CliError.usage('--cert and --key-file go together');
      }
      if (
        !options.https &&
        (options.httpsPort !== undefined ||
          options.cert !== undefined ||
          options.caDir !== undefined)
      ) {
        throw CliError.usage(
          '--no-https cannot be combined with --https-port, --cert, --key-file or --ca-dir',
        );
      }
      if (options.caDir !== undefined && options.cert !== undefined) {
        throw CliError.usage('--ca-dir is for the local CA: it cannot go with --cert');
      }
      // Loaded here, not at the top: the server's modules (fastify, SQLite) would slow every other command.
      const {
        BusError,
        StartupError,
        StoreOpenError,
        installSignalHandlers,
        printBanner,
        startServer,
      } = await import('@imv/server');
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: options.data,
        logLevel: options.logLevel,
        maxMessageMs: options.maxMessage * 1000,
        ...(options.https
          ? options.httpsPort !== undefined
            ? { httpsPort: options.httpsPort }
            : {}
          : { httpsPort: false }),
        ...(options.cert !== undefined && options.keyFile !== undefined
          ? { certFile: options.cert, keyFile: options.keyFile }
          : {}),
        ...(options.caDir !== undefined && { caDir: options.caDir }),
        // Without --no-mdns the server decides: it announces unless bound to loopback.
        ...(options.mdns ? {} : { mdns: false }),
        publicHosts: publicHostsOf(options.publicHost, process.env),
        ...(options.store !== undefined && { store: options.store }),
        bus: options.bus,
        busPrefix: options.busPrefix,
        ...(options.nodeId !== undefined && { nodeId: options.nodeId }),
        ...(options.webRoot !== undefined && { webRoot: options.webRoot }),
      }).catch((err: unknown) => {
        // A bad or unreachable bus or store, a port in use, an unusable data dir or bad
        // certificate files are the operator's to fix: one line, no stack.
        if (
          err instanceof BusError ||
          err instanceof StoreOpenError ||
          err instanceof StartupError
        ) {
          throw new CliError(err.message, undefined, { cause: err });
        }
        if (err instanceof RangeError && err.message.startsWith('options.')) {
          throw CliError.usage(err.message);
        }
        throw err;
      });
      let banner = '';
      printBanner(
        server,
        new Writable({
          write(chunk: Buffer | string, _encoding, done) {
            banner += chunk.toString();
            done();
          },
        }),
      );
      // The admin token is how `imv admin` and the /admin page get in; say it once.
      if (!banner.includes(server.adminToken)) {
        banner += `Admin token: ${server.adminToken}  (also in ${options.data}/admin-token; imv admin --data ${options.data})\n`;
      }
      process.stdout.write(banner);
      installSignalHandlers(server);
    });
}
