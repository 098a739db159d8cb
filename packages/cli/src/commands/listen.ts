import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { failoverOrigins } from '@imv/protocol';
import type { RoomKey, VoiceMessage, Welcome } from '@imv/protocol';
import { ImvClient } from '../client/imv-client.js';
import { ImvClientError } from '../client/client-error.js';
import { CliError, EXIT } from '../cli-error.js';
import { discoverIfAsked, intIn, parseRoom, parseSince, resolveGlobals } from '../options.js';
import type { GlobalOptions, Globals } from '../options.js';
import { toHttpBase, toWebSocketUrl } from '../client/server-url.js';
import { PLAYER_NAMES, findPlayer } from '../player.js';
import { MessageSink } from '../incoming/message-sink.js';
import type { Player } from '../player.js';
import { resolvePassphrase, resolveRoomKey, roomAccessError } from '../room-access.js';

interface ListenOptions {
  room: string;
  out?: string;
  since?: 'all' | number;
  count?: number;
  play?: boolean;
  json?: boolean;
  reconnect?: boolean;
  key?: string;
  passphrase?: string;
  passphraseFile?: string;
}

/** `imv listen`: one line per voice message as it is stored, optionally saved and played. */
export function registerListen(program: Command): void {
  program
    .command('listen')
    .description('print each voice message of a room as it arrives; save or play it')
    .requiredOption('-r, --room <room>', 'room to listen to', parseRoom)
    .option('-o, --out <dir>', 'save each message as <dir>/<id>.ogg (Ogg Opus)')
    .option(
      '--since <all|id>',
      'first replay stored messages: all, or those after message <id>',
      parseSince,
    )
    .option('-c, --count <n>', 'exit after n messages', intIn(1, Number.MAX_SAFE_INTEGER))
    .option('--play', 'play each message through a system audio player')
    .option('--json', 'one JSON object per message instead of text')
    .option(
      '--reconnect',
      'when the connection drops, retry every second and replay what was missed',
    )
    .option('-k, --key <key>', 'room key of a keyed room (default: $IMV_ROOM_KEY)')
    .option(
      '--passphrase <passphrase>',
      "end-to-end passphrase: decrypt the room's audio here (default: $IMV_PASSPHRASE)",
    )
    .option('--passphrase-file <file>', 'read the end-to-end passphrase from a file')
    .addHelpText(
      'after',
      `
Examples:
  $ imv listen --room crew
  $ imv listen --room crew --out ./inbox --since all
  $ imv listen --room crew --play
  $ imv listen --room crew --since 41 --count 1 --json
  $ imv listen --room crew --out ./inbox --reconnect
  $ imv listen --room crew --key 's3cret-door' --passphrase 'correct horse' --out ./inbox`,
    )
    .action(async (options: ListenOptions, command: Command) => {
      const globals = resolveGlobals(
        await discoverIfAsked(command.optsWithGlobals<GlobalOptions>()),
      );
      try {
        process.exitCode = await listen(options, globals);
      } catch (error) {
        throw roomAccessError(options.room, error);
      }
    });
}

async function listen(options: ListenOptions, globals: Globals): Promise<number> {
  const roomKey = resolveRoomKey(options.key);
  const passphrase = resolvePassphrase(options);
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
  if (outDir !== undefined) {
    try {
      await mkdir(outDir, { recursive: true });
    } catch (error) {
      throw new CliError(`cannot create ${options.out}: ${(error as Error).message}`);
    }
  }
  // Playing without --out needs the file somewhere: a temp dir removed on exit.
  const playDir =
    player !== undefined && outDir === undefined
      ? await mkdtemp(path.join(os.tmpdir(), 'imv-play-'))
      : undefined;
  // PBKDF2 runs once here (about 0.1-0.3 s), not per message.
  let e2eKey: RoomKey | undefined;
  if (passphrase !== undefined) {
    const { deriveRoomKey } = await import('@imv/protocol');
    e2eKey = await deriveRoomKey(passphrase, options.room);
  }

  const stop = new AbortController();
  let finish!: (code: number) => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  void finished.then(
    () => stop.abort(),
    () => stop.abort(),
  );

  const sink = new MessageSink(
    {
      server: globals.server,
      agent: globals.agentFor(toHttpBase(globals.server)),
      ...(roomKey !== undefined ? { roomKey } : {}),
      ...(e2eKey !== undefined ? { e2eKey } : {}),
      ...(outDir !== undefined ? { outDir } : {}),
      ...(playDir !== undefined ? { playDir } : {}),
      ...(player !== undefined ? { player } : {}),
      json: options.json === true,
      ...(options.count !== undefined ? { count: options.count } : {}),
      retryUnreachable: options.reconnect === true,
      onDone: () => finish(exitCode()),
      onError: (error) => fail(error),
    },
    typeof options.since === 'number' ? options.since : 0,
  );
  /** 0, or 1 when a message could not be decrypted or saved for want of a passphrase. */
  const exitCode = (): number => (sink.undecryptableCount > 0 ? EXIT.FAILURE : EXIT.OK);
  const enqueue = (message: VoiceMessage, replayed: boolean, liveFrames?: Uint8Array[]): void =>
    sink.enqueue(message, replayed, liveFrames);

  /** Joins on one connection (replaying from `since`); `lost` settles when that connection drops. */
  const session = async (
    client: ImvClient,
    since: 'all' | number | undefined,
  ): Promise<{ lost: Promise<ImvClientError> }> => {
    let replaying = true;
    const buffered: { message: VoiceMessage; liveFrames: Uint8Array[] | undefined }[] = [];
    // Sealed frames of encrypted streams as they go by: decrypting them saves downloading them again.
    const capturing = new Map<number, Uint8Array[]>();
    client.on('frame', (frame, bytes) => capturing.get(frame.streamId)?.push(bytes.slice()));
    const lost = new Promise<ImvClientError>((resolve) =>
      client.on('close', (error) => {
        if (error !== undefined) resolve(error);
      }),
    );
    client.on('message-stored', ({ message, streamId }) => {
      if (message.room !== options.room) return;
      const liveFrames = capturing.get(streamId);
      capturing.delete(streamId);
      if (replaying) buffered.push({ message, liveFrames });
      else enqueue(message, false, liveFrames);
    });
    client.on('talk-started', (m) => {
      if (m.room === options.room && m.encrypted && e2eKey !== undefined)
        capturing.set(m.streamId, []);
      if (process.stderr.isTTY && options.json !== true) {
        process.stderr.write(`… ${m.from.name} is talking (message #${m.messageId})\n`);
      }
    });
    // Listeners are attached before the join: live traffic may follow the reply in the same read.
    const { history } = await client.join(
      options.room,
      since,
      roomKey !== undefined ? { key: roomKey } : {},
    );
    let page = history;
    while (page !== undefined) {
      for (const message of page.messages) enqueue(message, true);
      const last = page.messages.at(-1);
      page =
        page.more && last !== undefined ? await client.getHistory({ after: last.id }) : undefined;
    }
    if (since === undefined) {
      // Remember where the room stood, so a reconnect replays exactly what was stored meanwhile.
      const newest = (await client.getHistory({ limit: 1 })).messages.at(-1);
      if (newest !== undefined) sink.noteBaseline(newest.id);
    }
    replaying = false;
    for (const { message, liveFrames } of buffered.sort((a, b) => a.message.id - b.message.id)) {
      enqueue(message, false, liveFrames);
    }
    // A person at a terminal gets a hint that it is working; pipes and scripts stay quiet.
    if (process.stderr.isTTY && options.json !== true) {
      process.stderr.write(`listening to ${options.room} on ${server} (Ctrl-C to stop)\n`);
    }
    return { lost };
  };

  const onSignal = (): void => finish(exitCode());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let client: ImvClient | undefined;
  // The node listened to now; with --reconnect it moves to another node of a cluster when this one goes.
  let server = globals.server;
  try {
    client = await connectTo(globals, server);
    let since = options.since;
    const done = finished.then((code) => ({ code }));
    // Raced below; its rejection (a failed download, say) is also awaited through `finished`.
    done.catch(() => undefined);
    for (;;) {
      let lostWith: ImvClientError;
      try {
        const joining = session(client, since);
        // If `done` wins the race, closing the client rejects the join: nobody needs that error.
        joining.catch(() => undefined);
        const joined = await Promise.race([joining, done]);
        if ('code' in joined) return joined.code;
        const end = await Promise.race([joined.lost, done]);
        if (!(end instanceof ImvClientError)) return end.code;
        lostWith = end;
      } catch (error) {
        // The connection can also drop in the middle of the join.
        if (
          !(error instanceof ImvClientError) ||
          options.reconnect !== true ||
          !isConnectionLoss(error)
        )
          throw error;
        lostWith = error;
      }
      if (options.reconnect !== true) throw lostWith;
      process.stderr.write(`imv: ${lostWith.message}; reconnecting\n`);
      const failover = failoverServers(server, client.welcome);
      await client.close();
      const next = await reconnect(globals, [server, ...failover], stop.signal);
      if (next === undefined) return await finished;
      client = next.client;
      if (next.server !== server) {
        server = next.server;
        sink.useServer(server, globals.agentFor(toHttpBase(server)));
      }
      process.stderr.write(`imv: reconnected to ${server}\n`);
      since = sink.replayAfterId;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client?.close();
    if (playDir !== undefined) await rm(playDir, { recursive: true, force: true });
  }
}

const RECONNECT_DELAY_MS = 1000;

function connectTo(globals: Globals, server: string): Promise<ImvClient> {
  return ImvClient.connect(server, {
    name: globals.name,
    agent: globals.agentFor(toWebSocketUrl(server)),
  });
}

/** The other nodes of a cluster, from the welcome, one URL each (see failoverOrigins). */
export function failoverServers(current: string, welcome: Welcome): string[] {
  let base: string;
  try {
    base = toHttpBase(current);
  } catch {
    return [];
  }
  return failoverOrigins(base, welcome.nodes ?? []);
}

function isConnectionLoss(error: ImvClientError): boolean {
  return ['UNREACHABLE', 'CONNECTION_LOST', 'SERVER_SHUTTING_DOWN', 'TIMEOUT', 'NOT_IMV'].includes(
    error.code,
  );
}

/**
 * Connects again, once a second, to the first of `servers` that answers (the node it was on, then the
 * other nodes of its cluster), until one does or `signal` aborts (then undefined).
 */
async function reconnect(
  globals: Globals,
  servers: string[],
  signal: AbortSignal,
): Promise<{ client: ImvClient; server: string } | undefined> {
  for (;;) {
    try {
      await sleep(RECONNECT_DELAY_MS, undefined, { signal });
    } catch {
      return undefined;
    }
    for (const server of servers) {
      try {
        return { client: await connectTo(globals, server), server };
      } catch (error) {
        if (!(error instanceof ImvClientError) || !isConnectionLoss(error)) throw error;
      }
    }
  }
}
