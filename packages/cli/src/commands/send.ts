import type { Command } from 'commander';
import { FRAME_MS } from '@imv/protocol';
import type { ErrorMessage, MessageStored } from '@imv/protocol';
import { ImvClient } from '../client/imv-client.js';
import { ImvClientError } from '../client/client-error.js';
import { CliError, EXIT } from '../cli-error.js';
import { formatDuration, messageJson } from '../format.js';
import { parseRoom, resolveGlobals } from '../options.js';
import type { GlobalOptions, Globals } from '../options.js';
import { toWebSocketUrl } from '../client/server-url.js';
import { sendPaced } from '../outgoing/pace.js';
import type { PreparedAudio } from '../outgoing/prepare-audio.js';
import { readInput } from '../outgoing/read-input.js';

/** Progress line refresh: once a second of audio. */
const PROGRESS_EVERY_FRAMES = 1000 / FRAME_MS;

interface SendOptions {
  room: string;
  fast?: boolean;
  json?: boolean;
}

/** `imv send`: talk a file into a room at real-time pace and print the stored message id. */
export function registerSend(program: Command): void {
  program
    .command('send')
    .description('talk an audio file into a room, live, and print the stored message id')
    .argument('<file>', 'WAV (PCM 8-32 bit or float, any rate, any channels) or Ogg Opus file; "-" reads stdin')
    .requiredOption('-r, --room <room>', 'room to talk into', parseRoom)
    .option('--fast', 'send as fast as the connection takes it instead of in real time')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ imv send hello.wav --room crew
  $ imv send note.opus --room crew --fast --json
  $ sox in.mp3 -t wav - | imv send - --room crew`,
    )
    .action(async (file: string, options: SendOptions, command: Command) => {
      const globals = resolveGlobals(command.optsWithGlobals<GlobalOptions>());
      process.exitCode = await send(file, options, globals);
    });
}

async function send(file: string, options: SendOptions, globals: Globals): Promise<number> {
  const label = file === '-' ? 'stdin' : file;
  // Everything is read and encoded before connecting: a file that cannot be read sends nothing.
  const bytes = await readInput(file);
  // Loaded on use: the codec modules (libopus, libsamplerate) are only needed here.
  const { prepareAudio } = await import('../outgoing/prepare-audio.js');
  const audio = await prepareAudio(bytes, label);
  for (const warning of audio.warnings) process.stderr.write(`imv: warning: ${label}: ${warning}\n`);

  const client = await ImvClient.connect(globals.server, {
    name: globals.name,
    agent: globals.agentFor(toWebSocketUrl(globals.server)),
  });
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await client.join(options.room);
    const talk = client.startTalk();
    const last = audio.packets.length - 1;
    let interrupted = false;
    // A person watching a real-time send sees where it is; pipes and scripts get no progress noise.
    const progress = process.stderr.isTTY && options.fast !== true && options.json !== true;
    const totalS = ((audio.packets.length * FRAME_MS) / 1000).toFixed(1);
    // The server may end the stream itself (MESSAGE_TOO_LONG); it stores what it got, and sending stops.
    let cutShort: ErrorMessage | undefined;
    const cut = new AbortController();
    client.on('server-error', (e) => {
      if (e.streamId === talk.streamId && e.code === 'MESSAGE_TOO_LONG') {
        cutShort = e;
        cut.abort();
      }
    });
    try {
      await sendPaced(
        audio.packets.length,
        (i) => {
          if (progress && i % PROGRESS_EVERY_FRAMES === 0) {
            process.stderr.write(`\rtalking in ${options.room}: ${((i * FRAME_MS) / 1000).toFixed(1)} / ${totalS} s `);
          }
          return talk.sendFrame(audio.packets[i]!, { end: i === last });
        },
        { frameMs: options.fast === true ? undefined : FRAME_MS, signal: AbortSignal.any([interrupt.signal, cut.signal]) },
      );
    } catch (error) {
      if (interrupt.signal.aborted) {
        // Ctrl-C: stop the stream so the server keeps what was said so far.
        interrupted = true;
        talk.stop();
      } else if (!cut.signal.aborted) {
        throw error;
      }
    }
    if (progress) process.stderr.write('\r\x1b[K');
    const stored = await talk.stored();
    report(stored, options, label, audio.source, interrupted);
    if (cutShort !== undefined) {
      process.stderr.write(
        `imv: the server stopped message ${stored.message.id} at ${formatDuration(stored.message.durationMs)}: ${cutShort.message} (${cutShort.code})\n`,
      );
      return EXIT.FAILURE;
    }
    return interrupted ? EXIT.INTERRUPTED : EXIT.OK;
  } catch (error) {
    if (error instanceof ImvClientError) throw new CliError(`send to ${options.room} failed: ${error.message}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
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
    process.stdout.write(`${JSON.stringify({ ...messageJson(m), file: label, source, interrupted })}\n`);
    return;
  }
  const note = interrupted ? ', interrupted' : m.status !== 'complete' ? `, ${m.status}` : '';
  process.stdout.write(
    `sent message ${m.id} to ${m.room} (${formatDuration(m.durationMs)}, ${m.frameCount} frames${note})\n`,
  );
}
