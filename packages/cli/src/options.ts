import { InvalidArgumentError } from 'commander';
import { ROOM_PATTERN, nameSchema } from '@imv/protocol';
import { CliError } from './cli-error.js';
import { defaultName } from './default-name.js';
import { pickServerUrl } from './client/server-url.js';

/** Options every command sees (declared on the program). */
export interface GlobalOptions {
  server?: string;
  name?: string;
}

/** Resolved global options; a name the server would refuse is a usage error here already. */
export function resolveGlobals(globals: GlobalOptions): { server: string; name: string } {
  const name = nameSchema.safeParse(globals.name ?? defaultName());
  if (!name.success) throw CliError.usage(`--name: ${name.error.issues[0]?.message ?? 'invalid name'}`);
  return { server: pickServerUrl(globals.server), name: name.data };
}

/** Commander parser for --room. */
export function parseRoom(value: string): string {
  if (!ROOM_PATTERN.test(value)) {
    throw new InvalidArgumentError('a room is 1-64 of a-z 0-9 - _, starting with a letter or digit.');
  }
  return value;
}

/** Commander parser for integers within [min, max]. */
export function intIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** Commander parser for --since: "all" or a message id. */
export function parseSince(value: string): 'all' | number {
  if (value === 'all') return 'all';
  return intIn(0, Number.MAX_SAFE_INTEGER)(value);
}
