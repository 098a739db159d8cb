import { readFileSync } from 'node:fs';
import { roomKeySchema } from '@imv/protocol';
import { ImvClientError } from './client/client-error.js';
import { CliError } from './cli-error.js';

/*
 * The two secrets a room can have, and where the CLI takes them from:
 * - the room key (access control, checked by the server): --key, else IMV_ROOM_KEY;
 * - the end-to-end passphrase (never leaves this machine): --passphrase, --passphrase-file, else IMV_PASSPHRASE.
 */

function fromEnv(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[name];
  return value !== undefined && value !== '' ? value : undefined;
}

/** The room key to send, or undefined; a key the server would refuse is a usage error here already. */
export function resolveRoomKey(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const key = flag ?? fromEnv('IMV_ROOM_KEY', env);
  if (key === undefined) return undefined;
  const parsed = roomKeySchema.safeParse(key);
  if (!parsed.success)
    throw CliError.usage(`--key: ${parsed.error.issues[0]?.message ?? 'invalid key'}`);
  return parsed.data;
}

export interface PassphraseOptions {
  passphrase?: string;
  passphraseFile?: string;
}

/** The end-to-end passphrase, or undefined when none is given. */
export function resolvePassphrase(
  options: PassphraseOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (options.passphrase !== undefined && options.passphraseFile !== undefined) {
    throw CliError.usage('give --passphrase or --passphrase-file, not both');
  }
  let passphrase = options.passphrase;
  if (options.passphraseFile !== undefined) {
    try {
      // One trailing newline is what `echo secret > file` adds; it is not part of the passphrase.
      passphrase = readFileSync(options.passphraseFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new CliError(
        `cannot read --passphrase-file ${options.passphraseFile}: ${(error as Error).message}`,
      );
    }
  }
  passphrase ??= fromEnv('IMV_PASSPHRASE', env);
  if (passphrase === '') throw CliError.usage('the passphrase is empty');
  return passphrase;
}

/** A refused join or REST call for a keyed room, as one clear line; other errors pass through. */
export function roomAccessError(room: string, error: unknown): unknown {
  if (!(error instanceof ImvClientError)) return error;
  if (error.code === 'ROOM_KEY_REQUIRED')
    return new CliError(`room ${room} needs a key: pass --key`, undefined, { cause: error });
  if (error.code === 'ROOM_KEY_WRONG')
    return new CliError(`wrong key for room ${room}`, undefined, { cause: error });
  return error;
}
