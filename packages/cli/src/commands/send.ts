import type { Command } from 'commander';
import { FRAME_MS } from '@imv/protocol';
import type { ErrorMessage, FrameMs, MessageStored, Welcome } from '@imv/protocol';
import { ImvClient } from '../client/imv-client.js';
import { ImvClientError } from '../client/client-error.js';
import { CliError, EXIT } from '../cli-error.js';
import { formatDuration, messageJson } from '../format.js';
import { discoverIfAsked, parseFrameMs, parseRoom, resolveGlobals } from '../options.js';
import type { GlobalOptions, Globals } from '../options.js';
import { toWebSocketUrl } from '../client/server-url.js';
import { sendPaced, sendPacedStream } from '../outgoing/pace.js';
import { openStdin } from '../outgoing/stdin-stream.js';
import type { PreparedAudio } from '../outgoing/prepare-audio.js';
import { readInput } from '../outgoing/read-input.js';
import type { OutgoingTalk, TalkEncryption } from '../client/outgoing-talk.js';
import { resolvePassphrase, resolveRoomKey, roomAccessError } from '../room-access.js';

interface SendOptions {
  room: string;
  fast?: boolean;
  frameMs: FrameMs;
  json?: boolean;
  key?: string;
  passphrase?: string;
  passphraseFile?: string;
}

/** `imv send`: talk a file into a room at real-time pace and print the stored message id. */
export function registerSend(program: Command): void {
  program
    .command('send')
    .description('talk an audio file into a room, live, and print the stored message id')
    .argument(
      '<file>',
      'WAV (PCM 8-32 bit or float, any rate, any channels) or Ogg Opus file; "-" reads stdin',
    )
    .requiredOption('-r, --room <room>', 'room to talk into', parseRoom)
    .option('--fast', 'send as fast as the connection takes it instead of in real time')
    .option(
      '--frame-ms <ms>',
      'Opus frame duration: 10 (low latency, 10 ms less delay, 18 kbit/s) or 20',
      parseFrameMs,
      FRAME_MS,
    )
    .option('--json', 'print the result as one JSON object')
    .option('-k, --key <key>', 'room key of a keyed room (default: $IMV_ROOM_KEY)')
    .option(
      '--passphrase <passphrase>',
      'end-to-end passphrase: seal every frame so the server cannot hear it (default: $IMV_PASSPHRASE)',
    )
    .option('--passphrase-file <file>', 'read the end-to-end passphrase from a file')
    .addHelpText(
      'after',
      `
Examples:
  $ imv send hello.wav --room crew
  $ imv send note.opus --room crew --fast --json
  $ arecord -f S16_LE -r 48000 -c 1 -t wav | imv send - --room crew --frame-ms 10
  $ sox in.mp3 -t wav - | imv send - --room crew
  $ imv send hello.wav --room crew --key 's3cret-door' --passphrase 'correct horse'`,
    )
    .action(async (file: string, options: SendOptions, command: Command) => {
      const globals = resolveGlobals(
        await discoverIfAsked(command.optsWithGlobals<GlobalOptions>()),
      );
      try {
        process.exitCode = await send(file, options, globals);
      } finally {
        // A streamed stdin may still be open (Ctrl-C, a cut, a failed connection): stop reading it so imv ends.
        if (file === '-') process.stdin.destroy();
      }
    });
}

async function send(file: string, options: SendOptions, globals: Globals): Promise<number> {
  const label = file === '-' ? 'stdin' : file;
  const roomKey = resolveRoomKey(options.key);
  const passphrase = resolvePassphrase(options);
  // Everything is read and encoded before connecting: a file that cannot be read sends nothing. A WAV on stdin
  // is the exception: its header is checked now, and its audio is encoded and sent as it arrives.
  const input =
    file === '-'
      ? await openStdin(label)
      : { kind: 'bytes' as const, bytes: await readInput(file) };
  let audio: PreparedAudio | undefined;
  if (input.kind === 'bytes') {
    // Loaded on use: the codec modules (libopus, libsamplerate) are only needed here.
    const { prepareAudio } = await import('../outgoing/prepare-audio.js');
    audio = await prepareAudio(input.bytes, label, options.frameMs);
    for (const warning of audio.warnings)
      process.stderr.write(`imv: warning: ${label}: ${warning}\n`);
  }
  // The passphrase is stretched (PBKDF2) before connecting, like the file is read: nothing waits on the socket.
  let encryption: TalkEncryption | undefined;
  if (passphrase !== undefined) {
    const { deriveRoomKey, deriveStreamKey, newStreamSalt } = await import('@imv/protocol');
    const e2eKey = await deriveRoomKey(passphrase, options.room);
    encryption = {
      streamKey: await deriveStreamKey(e2eKey, newStreamSalt()),
      keyCheck: e2eKey.keyCheck,
    };
  }

  const client = await ImvClient.connect(globals.server, {
    name: globals.name,
    agent: globals.agentFor(toWebSocketUrl(globals.server)),
  });
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { frameMs } = options;
    if (!(client.welcome.frameMs ?? [FRAME_MS]).includes(frameMs)) {
      throw new CliError(
        `${globals.server} does not take ${frameMs} ms frames (it is older than low latency); use --frame-ms ${FRAME_MS}`,
      );
    }
    try {
      await client.join(options.room, undefined, roomKey !== undefined ? { key: roomKey } : {});
    } catch (error) {
      throw roomAccessError(options.room, error);
    }
    // A streamed stdin starts talking with its first packet, so a stream without audio stores nothing.
    let talk: OutgoingTalk | undefined;
    const startTalk = (): OutgoingTalk =>
      (talk ??= client.startTalk(undefined, encryption, frameMs));
    if (audio !== undefined) startTalk();
    let interrupted = false;
    // A person watching a real-time send sees where it is; pipes and scripts get no progress noise.
    const progress = process.stderr.isTTY && options.fast !== true && options.json !== true;
    const totalS =
      audio !== undefined ? ` / ${((audio.packets.length * frameMs) / 1000).toFixed(1)}` : '';
    // Refreshed once a second of audio.
    const progressEveryFrames = 1000 / frameMs;
    const showProgress = (i: number): void => {
      if (progress && i % progressEveryFrames === 0) {
        process.stderr.write(
          `\rtalking in ${options.room}: ${((i * frameMs) / 1000).toFixed(1)}${totalS} s `,
        );
      }
    };
    // The server may end the stream itself (MESSAGE_TOO_LONG); it stores what it got, and sending stops.
    let cutShort: ErrorMessage | undefined;
    const cut = new AbortController();
    client.on('server-error', (e) => {
      if (talk !== undefined && e.streamId === talk.streamId && e.code === 'MESSAGE_TOO_LONG') {
        cutShort = e;
        cut.abort();
      }
    });
    const pace = {
      ...(options.fast === true ? fastPace(client.welcome, frameMs) : { frameMs }),
      signal: AbortSignal.any([interrupt.signal, cut.signal]),
    };
    try {
      if (audio !== undefined) {
        const packets = audio.packets;
        const last = packets.length - 1;
        await sendPaced(
          packets.length,
          (i) => {
            showProgress(i);
            return startTalk().sendFrame(packets[i]!, { end: i === last });
          },
          pace,
        );
      } else if (input.kind === 'wav-stream') {
        await sendPacedStream(
          input.stream.packets(frameMs),
          (packet, i, last) => {
            showProgress(i);
            return startTalk().sendFrame(packet, { end: last });
          },
          pace,
        );
      }
    } catch (error) {
      if (interrupt.signal.aborted) {
        // Ctrl-C: stop the stream so the server keeps what was said so far.
        interrupted = true;
        talk?.stop();
      } else if (!cut.signal.aborted) {
        throw error;
      }
    }
    if (progress) process.stderr.write('\r\x1b[K');
    if (talk === undefined) {
      process.stderr.write(`imv: interrupted before any audio was sent; nothing stored\n`);
      return EXIT.INTERRUPTED;
    }
    const stored = await talk.stored();
    report(stored, options, label, audio?.source ?? 'encoded', interrupted);
    if (cutShort !== undefined) {
      process.stderr.write(
        `imv: the server stopped message ${stored.message.id} at ${formatDuration(stored.message.durationMs)}: ${cutShort.message} (${cutShort.code})\n`,
      );
      return EXIT.FAILURE;
    }
    return interrupted ? EXIT.INTERRUPTED : EXIT.OK;
  } catch (error) {
    if (error instanceof ImvClientError)
      throw new CliError(`send to ${options.room} failed: ${error.message}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}

/**
 * --fast goes as fast as the server allows: half its burst at once, then its sustained rate
 * (welcome.limits; the other half of the burst absorbs timer jitter, so RATE_LIMITED never fires).
 * A server that announces no limit is paced by TCP alone. The limits count 20 ms frames: a talk of
 * 10 ms frames may send twice as many.
 */
function fastPace(welcome: Welcome, frameMs: FrameMs): { frameMs?: number; burstFrames?: number } {
  const { framesPerSecond, frameBurst } = welcome.limits;
  if (framesPerSecond === undefined || framesPerSecond <= 0) return {};
  const perFrame = FRAME_MS / frameMs;
  return {
    frameMs: 1000 / (framesPerSecond * perFrame),
    burstFrames: Math.floor(((frameBurst ?? 0) * perFrame) / 2),
  };
}

function report(
  stored: MessageStored,
  options: SendOptions,
  label: string,
  source: PreparedAudio['source'],
  interrupted: boolean,
): void {
  const m = stored.message;
  if (options.json === true) {
    process.stdout.write(
      `${JSON.stringify({ ...messageJson(m), file: label, source, interrupted })}\n`,
    );
    return;
  }
  const note = interrupted ? ', interrupted' : m.status !== 'complete' ? `, ${m.status}` : '';
  process.stdout.write(
    `sent message ${m.id} to ${m.room} (${formatDuration(m.durationMs)}, ${m.frameCount} frames${note})\n`,
  );
}
