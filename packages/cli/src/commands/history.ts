import type { Command } from 'commander';
import { MAX_HISTORY_LIMIT } from '@imv/protocol';
import { fetchHistory } from '../client/rest.js';
import { toHttpBase } from '../client/server-url.js';
import { formatDuration, formatLocalTime, formatTable, messageJson } from '../format.js';
import { discoverIfAsked, intIn, parseRoom, resolveGlobals } from '../options.js';
import type { GlobalOptions } from '../options.js';
import { resolveRoomKey, roomAccessError } from '../room-access.js';

interface HistoryOptions {
  room: string;
  limit: number;
  json?: boolean;
  key?: string;
}

/** `imv history`: the stored messages of a room, as a table. */
export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('list the voice messages stored in a room (newest last)')
    .requiredOption('-r, --room <room>', 'room to list', parseRoom)
    .option(
      '-l, --limit <n>',
      `how many of the most recent messages (1-${MAX_HISTORY_LIMIT})`,
      intIn(1, MAX_HISTORY_LIMIT),
      50,
    )
    .option('--json', 'one JSON object per line instead of a table')
    .option('-k, --key <key>', 'room key of a keyed room (default: $IMV_ROOM_KEY)')
    .addHelpText('after', '\nExample:\n  $ imv history --room crew --limit 10\n')
    .action(async (options: HistoryOptions, command: Command) => {
      const globals = resolveGlobals(
        await discoverIfAsked(command.optsWithGlobals<GlobalOptions>()),
      );
      const roomKey = resolveRoomKey(options.key);
      const agent = globals.agentFor(toHttpBase(globals.server));
      const page = await fetchHistory(
        globals.server,
        options.room,
        { limit: options.limit },
        {
          ...(agent !== undefined ? { agent } : {}),
          ...(roomKey !== undefined ? { roomKey } : {}),
        },
      ).catch((error: unknown) => {
        throw roomAccessError(options.room, error);
      });
      const messages = page.messages.slice(-options.limit);
      if (options.json === true) {
        for (const m of messages) process.stdout.write(`${JSON.stringify(messageJson(m))}\n`);
        return;
      }
      if (messages.length === 0) {
        process.stdout.write(`no messages in room ${options.room}\n`);
        return;
      }
      const rows = messages.map((m) => [
        String(m.id),
        m.senderName,
        formatLocalTime(m.startedAt),
        formatDuration(m.durationMs),
        m.status,
        m.encrypted ? 'e2e' : '',
      ]);
      const header = ['ID', 'SENDER', 'STARTED', 'DURATION', 'STATUS'];
      // e2e: end-to-end encrypted; only members with the passphrase can hear it (listen --passphrase).
      if (messages.some((m) => m.encrypted)) header.push('E2E');
      else for (const row of rows) row.pop();
      process.stdout.write(`${formatTable(header, rows, new Set([0, 3]))}\n`);
    });
}
