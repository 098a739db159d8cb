import { InvalidArgumentError } from 'commander';
import { ROOM_PATTERN } from '@imv/protocol';
import { defaultName } from './default-name.js';
import { pickServerUrl } from './client/server-url.js';

/** Options every command sees (declared on the program). */
export interface GlobalOptions {
  server?: string;
  name?: string;
}

/** Resolved global options. */
export function resolveGlobals(globals: GlobalOptions): { server: string; name: string } {
  return { server: pickServerUrl(globals.server), name: globals.name ?? defaultName() };
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
