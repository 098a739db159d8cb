import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';

interface CopyOptions {
  from: string;
  to: string;
}

/** `imv store …`: work on a message store directly (no server needed). */
export function registerStore(program: Command): void {
  const store = program
    .command('store')
    .description('work on message stores directly: copy a history between SQLite and PostgreSQL');
  store
    .command('copy')
    .description(
      'copy every room, message, frame and room key from one store to another (idempotent)',
    )
    .requiredOption('--from <url>', 'source store: sqlite:PATH or postgres://user@host/db')
    .requiredOption('--to <url>', 'target store: sqlite:PATH or postgres://user@host/db')
    .addHelpText(
      'after',
      `
Messages keep their ids, so copy into an empty store (or one an earlier copy filled). A second
run copies nothing. Messages still being recorded are skipped; stop the server first.

Examples:
  $ imv store copy --from sqlite:./data/imv.sqlite --to postgres://imv@db.lan/imv
  $ imv store copy --from postgres://imv@db.lan/imv --to sqlite:./backup.sqlite`,
    )
    .action(async (options: CopyOptions) => {
      const { StoreOpenError, copyStore, maskStoreUrl, openCopyableStore, parseStoreUrl } =
        await import('@imv/server');
      // Opening a SQLite path creates the file: a mistyped source would copy nothing, silently.
      const source = (() => {
        try {
          return parseStoreUrl(options.from, process.cwd());
        } catch (err) {
          throw new CliError(
            `cannot open store ${maskStoreUrl(options.from)}: ${(err as Error).message}`,
          );
        }
      })();
      if (source.kind === 'sqlite' && !existsSync(path.join(source.dir, source.fileName))) {
        throw new CliError(
          `cannot open store ${options.from}: no such SQLite file ${path.join(source.dir, source.fileName)}`,
        );
      }
      const open = (url: string) =>
        openCopyableStore(url, {
          dataDir: process.cwd(),
          nodeId: `imv-store-copy@${hostname()}:${process.pid}`,
        }).catch((err: unknown) => {
          throw err instanceof StoreOpenError ? new CliError(err.message) : err;
        });
      const from = await open(options.from);
      try {
        const to = await open(options.to);
        try {
          const tty = process.stderr.isTTY;
          const report = await copyStore(from, to, ({ done, total }) => {
            if (tty) process.stderr.write(`\rcopying: ${done}/${total} messages`);
          }).catch((err: unknown) => {
            throw new CliError(`copy failed: ${(err as Error).message}`);
          });
          if (tty) process.stderr.write('\n');
          const target = maskStoreUrl(options.to);
          const keys = report.copiedKeys + report.existingKeys;
          if (report.copiedMessages === 0 && report.copiedKeys === 0) {
            process.stdout.write(
              `nothing to copy: all ${report.sourceMessages} messages and ${keys} room keys are already in ${target}\n`,
            );
          } else {
            process.stdout.write(
              `copied ${report.copiedMessages} messages (${report.copiedFrames} frames) and ` +
                `${report.copiedKeys} room keys to ${target}; ${report.existingMessages} messages were already there\n`,
            );
          }
          process.stdout.write(
            `verified: ${report.sourceMessages} messages with ${report.verifiedFrames} frames and ${keys} room keys in both stores\n`,
          );
          if (report.skippedRecording > 0) {
            process.stderr.write(
              `imv: skipped ${report.skippedRecording} messages still recording; stop the server and copy again\n`,
            );
          }
          if (report.conflictingKeys.length > 0) {
            throw new CliError(
              `rooms with a different key in the target (kept as they were): ${report.conflictingKeys.join(', ')}`,
            );
          }
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
    });
}
