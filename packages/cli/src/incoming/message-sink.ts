import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Agent } from 'node:http';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { ImvClientError } from '../client/client-error.js';
import { downloadFrames, downloadMessage } from '../client/rest.js';
import {
  CANNOT_DECRYPT,
  NEEDS_PASSPHRASE,
  UndecryptableError,
  decryptMessageToOgg,
  isCompleteCapture,
} from '../e2e/decrypt-message.js';
import { CliError } from '../cli-error.js';
import { formatDuration, formatLocalTime, messageJson } from '../format.js';
import { playFile } from '../player.js';
import type { Player } from '../player.js';

export interface MessageSinkOptions {
  server: string;
  agent: Agent | undefined;
  /** Room key for REST downloads of a keyed room. */
  roomKey?: string;
  /** The end-to-end key from --passphrase: encrypted messages are decrypted on this side. */
  e2eKey?: RoomKey;
  /** Save each message here as <id>.ogg (--out). */
  outDir?: string;
  /** Scratch folder for --play without --out; each file is removed once played. */
  playDir?: string;
  player?: Player;
  json: boolean;
  /** Stop after this many messages (--count). */
  count?: number;
  /** A download that fails because the server is gone is kept for a later replay instead of failing. */
  retryUnreachable: boolean;
  /** Called once `count` messages are handled. */
  onDone: () => void;
  /** Called with the first error that ends listening. */
  onError: (error: unknown) => void;
}

/**
 * What `imv listen` does with each stored message, one at a time and in the order queued:
 * download (for --out / --play), print one line, play. Duplicates (a message both replayed and
 * announced live) are handled once.
 */
export class MessageSink {
  private readonly seen = new Set<number>();
  private handled = 0;
  private highWaterId: number;
  private retryFromId = Infinity;
  private chain: Promise<void> = Promise.resolve();
  private undecryptable = 0;

  constructor(
    private readonly options: MessageSinkOptions,
    startAfterId = 0,
  ) {
    this.highWaterId = startAfterId;
  }

  /** After a failover: downloads go to the node the listener moved to. */
  useServer(server: string, agent: Agent | undefined): void {
    this.options.server = server;
    this.options.agent = agent;
  }

  /** Replay point for a reconnect: every message up to this id has been handled (or predates listening). */
  get replayAfterId(): number {
    return Math.min(this.highWaterId, this.retryFromId - 1);
  }

  /** Messages that could not be decrypted (wrong or missing passphrase); listen exits 1 when there were any. */
  get undecryptableCount(): number {
    return this.undecryptable;
  }

  /** Marks messages up to `id` as already there when listening started (nothing to replay for them). */
  noteBaseline(id: number): void {
    this.highWaterId = Math.max(this.highWaterId, id);
  }

  /** Queues a stored message; `liveFrames` are its sealed frames as heard live (encrypted messages). */
  enqueue(message: VoiceMessage, replayed: boolean, liveFrames?: Uint8Array[]): void {
    // A message still being recorded is announced again by message-stored when it ends.
    if (this.seen.has(message.id) || message.status === 'recording') return;
    this.seen.add(message.id);
    this.chain = this.chain
      .then(() => this.handle(message, replayed, liveFrames))
      .catch((error: unknown) => {
        if (
          this.options.retryUnreachable &&
          error instanceof ImvClientError &&
          error.code === 'UNREACHABLE'
        ) {
          // The server went away mid-download: forget the message so the replay after reconnecting fetches it.
          this.seen.delete(message.id);
          this.retryFromId = Math.min(this.retryFromId, message.id);
          return;
        }
        this.options.onError(error);
      });
  }

  private async handle(
    message: VoiceMessage,
    replayed: boolean,
    liveFrames: Uint8Array[] | undefined,
  ): Promise<void> {
    const { count, outDir, playDir, player } = this.options;
    if (count !== undefined && this.handled >= count) return;
    let file: string | undefined;
    let problem: UndecryptableError | undefined;
    try {
      file = await this.save(message, outDir ?? playDir, liveFrames);
    } catch (error) {
      if (!(error instanceof UndecryptableError)) throw error;
      problem = error;
    }
    this.print(message, replayed, outDir !== undefined ? file : undefined, problem);
    // Listing an encrypted message without a passphrase is fine; failing to save or open one is not.
    if (
      problem !== undefined &&
      (problem.reason === 'DECRYPT_FAILED' || (outDir ?? playDir) !== undefined)
    ) {
      this.undecryptable++;
      process.stderr.write(`imv: ${problem.message}\n`);
    }
    this.handled++;
    this.highWaterId = Math.max(this.highWaterId, message.id);
    if (message.id >= this.retryFromId) this.retryFromId = Infinity;
    if (player !== undefined && file !== undefined) {
      try {
        await playFile(player, file);
      } catch (error) {
        process.stderr.write(
          `imv: could not play message ${message.id}: ${(error as Error).message}\n`,
        );
      }
      if (playDir !== undefined) await rm(file, { force: true });
    }
    if (count !== undefined && this.handled >= count) this.options.onDone();
  }

  private async save(
    message: VoiceMessage,
    dir: string | undefined,
    liveFrames: Uint8Array[] | undefined,
  ): Promise<string | undefined> {
    if (message.encrypted && this.options.e2eKey === undefined)
      throw new UndecryptableError(message.id, 'PASSPHRASE_REQUIRED');
    if (dir === undefined) {
      // Nothing to write, but a wrong passphrase should still be said.
      if (message.encrypted && message.keyCheck !== this.options.e2eKey?.keyCheck) {
        throw new UndecryptableError(message.id, 'DECRYPT_FAILED');
      }
      return undefined;
    }
    const bytes = message.encrypted
      ? await this.decrypt(message, liveFrames)
      : await this.download(message);
    const file = path.join(dir, `${message.id}.ogg`);
    try {
      // Write then rename, so a reader of the folder never sees half a file.
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
    } catch (error) {
      throw new CliError(
        `cannot save message ${message.id} to ${file}: ${(error as Error).message}`,
      );
    }
    return file;
  }

  private download(message: VoiceMessage): Promise<Uint8Array> {
    return downloadMessage(this.options.server, message.room, message.id, this.restOptions());
  }

  /** Decrypts from the frames heard live when they are all there, else from the server's stored frames. */
  private async decrypt(
    message: VoiceMessage,
    liveFrames: Uint8Array[] | undefined,
  ): Promise<Uint8Array> {
    const key = this.options.e2eKey!;
    if (message.keyCheck !== key.keyCheck)
      throw new UndecryptableError(message.id, 'DECRYPT_FAILED');
    const frames =
      liveFrames !== undefined && isCompleteCapture(liveFrames, message.frameCount)
        ? liveFrames
        : await downloadFrames(this.options.server, message.room, message.id, this.restOptions());
    return decryptMessageToOgg(key, message, frames);
  }

  private restOptions(): { agent?: Agent; roomKey?: string } {
    return {
      ...(this.options.agent !== undefined ? { agent: this.options.agent } : {}),
      ...(this.options.roomKey !== undefined ? { roomKey: this.options.roomKey } : {}),
    };
  }

  private print(
    message: VoiceMessage,
    replayed: boolean,
    savedPath: string | undefined,
    problem?: UndecryptableError,
  ): void {
    if (this.options.json) {
      const line = {
        ...messageJson(message),
        replayed,
        ...(savedPath !== undefined ? { path: savedPath } : {}),
        ...(problem !== undefined ? { error: problem.reason } : {}),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const parts = [
      `#${message.id}`,
      formatLocalTime(message.startedAt),
      message.senderName,
      formatDuration(message.durationMs),
      message.status + (message.encrypted ? ' e2e' : ''),
    ];
    if (savedPath !== undefined) parts.push(`saved ${displayPath(savedPath)}`);
    if (problem !== undefined)
      parts.push(problem.reason === 'DECRYPT_FAILED' ? CANNOT_DECRYPT : NEEDS_PASSPHRASE);
    process.stdout.write(`${parts.join('  ')}\n`);
  }
}

/** Relative to the current directory when the file is below it, else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : file;
}
