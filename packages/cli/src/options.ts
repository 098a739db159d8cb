import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import { InvalidArgumentError } from 'commander';
import { FRAME_MS_VALUES, ROOM_PATTERN, nameSchema } from '@imv/protocol';
import type { FrameMs } from '@imv/protocol';
import { CliError } from './cli-error.js';
import { defaultName } from './default-name.js';
import { pickServerUrl } from './client/server-url.js';
import { connectPinned } from './trust/known-hosts.js';
import type { PinOptions } from './trust/known-hosts.js';

/** Options every command sees (declared on the program). */
export interface GlobalOptions {
  server?: string;
  name?: string;
  trustNew?: boolean;
  insecure?: boolean;
  ca?: string;
  discover?: boolean;
  /** Set by discoverIfAsked: the certificate fingerprint the discovered server announced. */
  announcedFingerprint?: string;
}

/** What every command needs to reach the server. */
export interface Globals {
  server: string;
  name: string;
  /** The HTTP(S) agent for a URL: certificate pinning for https:/wss:, none for http:/ws:. */
  agentFor: (url: string) => Agent | undefined;
}

/** Resolved global options; a name the server would refuse is a usage error here already. */
export function resolveGlobals(globals: GlobalOptions): Globals {
  const name = nameSchema.safeParse(globals.name ?? defaultName());
  if (!name.success)
    throw CliError.usage(`--name: ${name.error.issues[0]?.message ?? 'invalid name'}`);
  let ca: string | undefined;
  if (globals.ca !== undefined) {
    try {
      ca = readFileSync(globals.ca, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read CA certificate ${globals.ca}: ${(error as Error).message}`);
    }
  }
  const pin: PinOptions = {
    ...(globals.trustNew === true ? { trustNew: true } : {}),
    ...(globals.insecure === true ? { insecure: true } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(globals.announcedFingerprint !== undefined
      ? { announcedFingerprint: globals.announcedFingerprint }
      : {}),
  };
  return {
    server: pickServerUrl(globals.server),
    name: name.data,
    agentFor: (url) => connectPinned(url, pin).agent,
  };
}

/** Global options with `--discover` replaced by the server found on the LAN (mDNS). */
export async function discoverIfAsked(globals: GlobalOptions): Promise<GlobalOptions> {
  if (globals.discover !== true) return globals;
  if (globals.server !== undefined) throw CliError.usage('give --server or --discover, not both');
  const { discoverServer } = await import('./discovery.js');
  const found = await discoverServer();
  return {
    ...globals,
    server: found.url,
    ...(found.fingerprint !== undefined ? { announcedFingerprint: found.fingerprint } : {}),
  };
}

/** Commander parser for --room. */
export function parseRoom(value: string): string {
  if (!ROOM_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      'a room is 1-64 of a-z 0-9 - _, starting with a letter or digit.',
    );
  }
  return value;
}

/** Commander parser for --frame-ms: one of the frame durations a talk may announce. */
export function parseFrameMs(value: string): FrameMs {
  const frameMs = FRAME_MS_VALUES.find((ms) => String(ms) === value);
  if (frameMs === undefined) {
    throw new InvalidArgumentError(`expected ${FRAME_MS_VALUES.join(' or ')} (milliseconds).`);
  }
  return frameMs;
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
