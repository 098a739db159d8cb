import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { REST_PATHS, roomKeySchema } from '@imv/protocol';
import { ImvClientError } from '../client/client-error.js';
import { restRequest } from '../client/rest.js';
import type { RestRequest } from '../client/rest.js';
import { toHttpBase } from '../client/server-url.js';
import { CliError } from '../cli-error.js';
import { formatLocalTime, formatTable } from '../format.js';
import { discoverIfAsked, intIn, parseRoom, resolveGlobals } from '../options.js';
import type { GlobalOptions, Globals } from '../options.js';

/** The server keeps its admin token in this file of its data directory (server http/admin-token.ts). */
const ADMIN_TOKEN_FILE = 'admin-token';

interface AdminOptions {
  token?: string;
  data?: string;
}

interface AdminRoom {
  room: string;
  messageCount: number;
  keyed: boolean;
  online?: number;
  lastMessageAt?: number;
}

/** --token, else IMV_ADMIN_TOKEN, else `<--data>/admin-token`. */
export function resolveAdminToken(
  options: AdminOptions,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (options.token !== undefined && options.token !== '') return options.token;
  if (env.IMV_ADMIN_TOKEN !== undefined && env.IMV_ADMIN_TOKEN !== '') return env.IMV_ADMIN_TOKEN;
  if (options.data !== undefined) {
    const file = path.join(options.data, ADMIN_TOKEN_FILE);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new CliError(`cannot read the admin token from ${file}: ${(error as Error).message}`);
    }
  }
  throw CliError.usage(
    "admin commands need the admin token: pass --token <token>, set IMV_ADMIN_TOKEN, or --data <the server's data dir>",
  );
}

/** Turns 401/403 into one line saying what to do. */
function adminError(error: unknown): unknown {
  if (!(error instanceof ImvClientError)) return error;
  if (error.code === 'UNAUTHORIZED') {
    return new CliError(
      'the server asked for the admin token (401): pass --token, IMV_ADMIN_TOKEN or --data',
      undefined,
      { cause: error },
    );
  }
  if (error.code === 'FORBIDDEN') {
    return new CliError(
      `the server refused the admin token (403): use the one it printed at start, or the one in <data dir>/${ADMIN_TOKEN_FILE}`,
      undefined,
      { cause: error },
    );
  }
  return error;
}

async function call(
  command: Command,
  path: string,
  request: Omit<RestRequest, 'headers' | 'agent'> = {},
): Promise<unknown> {
  const all = command.optsWithGlobals<GlobalOptions & AdminOptions>();
  const token = resolveAdminToken(all);
  const globals: Globals = resolveGlobals(await discoverIfAsked(all));
  const agent = globals.agentFor(toHttpBase(globals.server));
  try {
    const response = await restRequest(globals.server, path, {
      ...request,
      headers: { authorization: `Bearer ${token}` },
      ...(agent !== undefined ? { agent } : {}),
    });
    return response.body.byteLength > 0
      ? (JSON.parse(response.body.toString('utf8')) as unknown)
      : undefined;
  } catch (error) {
    throw adminError(error);
  }
}

function parseRoomKey(value: string): string {
  const parsed = roomKeySchema.safeParse(value);
  if (!parsed.success)
    throw CliError.usage(`<key>: ${parsed.error.issues[0]?.message ?? 'invalid key'}`);
  return parsed.data;
}

/** `imv admin …`: server administration over REST with the admin token. */
export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description(
      'administer a server: list rooms, delete messages or rooms, set or clear room keys',
    )
    .option('--token <token>', 'admin token (default: $IMV_ADMIN_TOKEN)')
    .option(
      '-d, --data <dir>',
      "read the admin token from the server's data directory (<dir>/admin-token)",
    )
    .addHelpText(
      'after',
      `
The admin token is printed by "imv serve" at start and kept in <data dir>/admin-token.

Examples:
  $ imv admin rooms --data ./data
  $ IMV_ADMIN_TOKEN=… imv admin delete crew 12
  $ imv admin delete crew --token …            delete every message of room crew
  $ imv admin set-key crew 's3cret-door' --data ./data
  $ imv admin clear-key crew --data ./data`,
    );

  admin
    .command('rooms')
    .description('list the rooms with their message count, key and members online')
    .option('--json', 'one JSON object per room')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { rooms } = (await call(command, REST_PATHS.adminRooms())) as { rooms: AdminRoom[] };
      if (options.json === true) {
        for (const room of rooms) process.stdout.write(`${JSON.stringify(room)}\n`);
        return;
      }
      if (rooms.length === 0) {
        process.stdout.write('no rooms\n');
        return;
      }
      const rows = rooms.map((r) => [
        r.room,
        String(r.messageCount),
        r.keyed ? 'yes' : 'no',
        String(r.online ?? 0),
        r.lastMessageAt !== undefined ? formatLocalTime(r.lastMessageAt) : '',
      ]);
      process.stdout.write(
        `${formatTable(['ROOM', 'MESSAGES', 'KEY', 'ONLINE', 'LAST MESSAGE'], rows, new Set([1, 3]))}\n`,
      );
    });

  admin
    .command('delete')
    .description('delete one stored message, or the whole room when no id is given')
    .argument('<room>', 'room', parseRoom)
    .argument('[id]', 'message id', intIn(1, Number.MAX_SAFE_INTEGER))
    .action(async (room: string, id: number | undefined, _options: unknown, command: Command) => {
      if (id !== undefined) {
        await call(command, REST_PATHS.message(room, id), { method: 'DELETE' });
        process.stdout.write(`deleted message ${id} of room ${room}\n`);
        return;
      }
      const result = (await call(command, REST_PATHS.room(room), { method: 'DELETE' })) as {
        deletedMessages?: number;
      };
      process.stdout.write(`deleted room ${room} (${result.deletedMessages ?? 0} messages)\n`);
    });

  admin
    .command('set-key')
    .description('give a room a key (8-128 printable characters); members then join with --key')
    .argument('<room>', 'room', parseRoom)
    .argument('<key>', 'the room key', parseRoomKey)
    .action(async (room: string, key: string, _options: unknown, command: Command) => {
      await call(command, REST_PATHS.roomKey(room), { method: 'PUT', json: { key } });
      process.stdout.write(`room ${room} now needs a key\n`);
    });

  admin
    .command('clear-key')
    .description('remove the key of a room: anyone may join it again')
    .argument('<room>', 'room', parseRoom)
    .action(async (room: string, _options: unknown, command: Command) => {
      await call(command, REST_PATHS.roomKey(room), { method: 'DELETE' });
      process.stdout.write(`room ${room} is open (no key)\n`);
    });
}
