import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { VoiceMessage } from '@imv/protocol';
import { ImvClient } from '../client/imv-client.js';
import { downloadMessage } from '../client/rest.js';
import { EXIT } from '../cli-error.js';
import { formatDuration, formatLocalTime, messageJson } from '../format.js';
import { intIn, parseRoom, parseSince, resolveGlobals } from '../options.js';
import type { GlobalOptions } from '../options.js';
import { PLAYER_NAMES, findPlayer, playFile } from '../player.js';
import type { Player } from '../player.js';

interface ListenOptions {
  room: string;
  out?: string;
  since?: 'all' | number;
  count?: number;
  play?: boolean;
  json?: boolean;
}

/** `imv listen`: one line per voice message as it is stored, optionally saved and played. */
export function registerListen(program: Command): void {
  program
    .command('listen')
    .description('print each voice message of a room as it arrives; save or play it')
    .requiredOption('-r, --room <room>', 'room to listen to', parseRoom)
    .option('-o, --out <dir>', 'save each message as <dir>/<id>.ogg (Ogg Opus)')
    .option('--since <all|id>', 'first replay stored messages: all, or those after message <id>', parseSince)
    .option('-c, --count <n>', 'exit after n messages', intIn(1, Number.MAX_SAFE_INTEGER))
    .option('--play', 'play each message through a system audio player')
    .option('--json', 'one JSON object per message instead of text')
    .addHelpText(
      'after',
      `
Examples:
  $ imv listen --room crew
  $ imv listen --room crew --out ./inbox --since all
  $ imv listen --room crew --play
  $ imv listen --room crew --since 41 --count 1 --json`,
    )
    .action(async (options: ListenOptions, command: Command) => {
      const globals = resolveGlobals(command.optsWithGlobals<GlobalOptions>());
      process.exitCode = await listen(options, globals);
    });
}

async function listen(options: ListenOptions, globals: { server: string; name: string }): Promise<number> {
  let player: Player | undefined;
  if (options.play === true) {
    player = findPlayer();
    if (player === undefined) {
      process.stderr.write(
        `imv: no audio player found (looked for ${PLAYER_NAMES.join(', ')}; or set IMV_PLAYER); messages will not be played\n`,
      );
    }
  }
  const outDir = options.out !== undefined ? path.resolve(options.out) : undefined;
  if (outDir !== undefined) await mkdir(outDir, { recursive: true });
  // Playing without --out needs the file somewhere: a temp dir removed on exit.
  const playDir = player !== undefined && outDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'imv-play-')) : undefined;

  const client = await ImvClient.connect(globals.server, { name: globals.name });
  const seen = new Set<number>();
  let handled = 0;
  let replaying = true;
  const buffered: VoiceMessage[] = [];
  let chain: Promise<void> = Promise.resolve();

  let finish!: (code: number) => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  const handle = async (message: VoiceMessage, replayed: boolean): Promise<void> => {
    if (options.count !== undefined && handled >= options.count) return;
    const saveDir = outDir ?? playDir;
    let file: string | undefined;
    if (saveDir !== undefined) {
      const bytes = await downloadMessage(globals.server, message.room, message.id);
      file = path.join(saveDir, `${message.id}.ogg`);
      // Write then rename, so a reader of the folder never sees half a file.
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
    }
    const shownPath = outDir !== undefined ? file : undefined;
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ ...messageJson(message), replayed, ...(shownPath ? { path: shownPath } : {}) })}\n`);
    } else {
      const parts = [
        `#${message.id}`,
        formatLocalTime(message.startedAt),
        message.senderName,
        formatDuration(message.durationMs),
        message.status,
      ];
      if (shownPath !== undefined) parts.push(`saved ${displayPath(shownPath)}`);
      process.stdout.write(`${parts.join('  ')}\n`);
    }
    handled++;
    if (player !== undefined && file !== undefined) {
      try {
        await playFile(player, file);
      } catch (error) {
        process.stderr.write(`imv: could not play message ${message.id}: ${(error as Error).message}\n`);
      }
      if (playDir !== undefined) await rm(file, { force: true });
    }
    if (options.count !== undefined && handled >= options.count) finish(EXIT.OK);
  };

  // Messages are handled one at a time, in the order they were queued.
  const enqueue = (message: VoiceMessage, replayed: boolean): void => {
    if (seen.has(message.id) || message.status === 'recording') return;
    seen.add(message.id);
    chain = chain.then(() => handle(message, replayed)).catch(fail);
  };

  client.on('message-stored', ({ message }) => {
    if (message.room !== options.room) return;
    if (replaying) buffered.push(message);
    else enqueue(message, false);
  });
  client.on('talk-started', (m) => {
    if (process.stderr.isTTY && options.json !== true) {
      process.stderr.write(`… ${m.from.name} is talking (message #${m.messageId})\n`);
    }
  });
  client.on('close', (error) => {
    if (error !== undefined) fail(error);
  });
  const onSignal = (): void => finish(EXIT.OK);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Listeners are attached before the join: live traffic may follow the reply in the same read.
    const { history } = await client.join(options.room, options.since);
    let page = history;
    while (page !== undefined) {
      for (const message of page.messages) enqueue(message, true);
      const last = page.messages.at(-1);
      page = page.more && last !== undefined ? await client.getHistory({ after: last.id }) : undefined;
    }
    replaying = false;
    for (const message of buffered.sort((a, b) => a.id - b.id)) enqueue(message, false);
    buffered.length = 0;
    // A person at a terminal gets a hint that it is working; pipes and scripts stay quiet.
    if (process.stderr.isTTY && options.json !== true) {
      process.stderr.write(`listening to ${options.room} on ${client.url} (Ctrl-C to stop)\n`);
    }
    return await finished;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
    if (playDir !== undefined) await rm(playDir, { recursive: true, force: true });
  }
}

/** Relative to the current directory when the file is below it, else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
