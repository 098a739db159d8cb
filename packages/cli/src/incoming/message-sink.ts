import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Agent } from 'node:http';
import type { VoiceMessage } from '@imv/protocol';
import { ImvClientError } from '../client/client-error.js';
import { downloadMessage } from '../client/rest.js';
import { CliError } from '../cli-error.js';
import { formatDuration, formatLocalTime, messageJson } from '../format.js';
import { playFile } from '../player.js';
import type { Player } from '../player.js';

export interface MessageSinkOptions {
  server: string;
  agent: Agent | undefined;
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

  constructor(
    private readonly options: MessageSinkOptions,
    startAfterId = 0,
  ) {
    this.highWaterId = startAfterId;
  }

  /** Replay point for a reconnect: every message up to this id has been handled (or predates listening). */
  get replayAfterId(): number {
    return Math.min(this.highWaterId, this.retryFromId - 1);
  }

  /** Marks messages up to `id` as already there when listening started (nothing to replay for them). */
  noteBaseline(id: number): void {
    this.highWaterId = Math.max(this.highWaterId, id);
  }

  enqueue(message: VoiceMessage, replayed: boolean): void {
    // A message still being recorded is announced again by message-stored when it ends.
    if (this.seen.has(message.id) || message.status === 'recording') return;
    this.seen.add(message.id);
    this.chain = this.chain
      .then(() => this.handle(message, replayed))
      .catch((error: unknown) => {
        if (this.options.retryUnreachable && error instanceof ImvClientError && error.code === 'UNREACHABLE') {
          // The server went away mid-download: forget the message so the replay after reconnecting fetches it.
          this.seen.delete(message.id);
          this.retryFromId = Math.min(this.retryFromId, message.id);
          return;
        }
        this.options.onError(error);
      });
  }

  private async handle(message: VoiceMessage, replayed: boolean): Promise<void> {
    const { count, outDir, playDir, player } = this.options;
    if (count !== undefined && this.handled >= count) return;
    const file = await this.save(message, outDir ?? playDir);
    this.print(message, replayed, outDir !== undefined ? file : undefined);
    this.handled++;
    this.highWaterId = Math.max(this.highWaterId, message.id);
    if (message.id >= this.retryFromId) this.retryFromId = Infinity;
    if (player !== undefined && file !== undefined) {
      try {
        await playFile(player, file);
      } catch (error) {
        process.stderr.write(`imv: could not play message ${message.id}: ${(error as Error).message}\n`);
      }
      if (playDir !== undefined) await rm(file, { force: true });
    }
    if (count !== undefined && this.handled >= count) this.options.onDone();
  }

  private async save(message: VoiceMessage, dir: string | undefined): Promise<string | undefined> {
    if (dir === undefined) return undefined;
    const bytes = await downloadMessage(this.options.server, message.room, message.id, { agent: this.options.agent });
    const file = path.join(dir, `${message.id}.ogg`);
    try {
      // Write then rename, so a reader of the folder never sees half a file.
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
    } catch (error) {
      throw new CliError(`cannot save message ${message.id} to ${file}: ${(error as Error).message}`);
    }
    return file;
  }

  private print(message: VoiceMessage, replayed: boolean, savedPath: string | undefined): void {
    if (this.options.json) {
      const line = { ...messageJson(message), replayed, ...(savedPath !== undefined ? { path: savedPath } : {}) };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const parts = [
      `#${message.id}`,
      formatLocalTime(message.startedAt),
      message.senderName,
      formatDuration(message.durationMs),
      message.status,
    ];
    if (savedPath !== undefined) parts.push(`saved ${displayPath(savedPath)}`);
    process.stdout.write(`${parts.join('  ')}\n`);
  }
}

/** Relative to the current directory when the file is below it, else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
