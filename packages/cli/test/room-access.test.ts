import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../src/cli-error.js';
import { splitFrames } from '../src/client/rest.js';
import { resolvePassphrase, resolveRoomKey } from '../src/room-access.js';

describe('resolvePassphrase', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-pass-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('takes --passphrase over IMV_PASSPHRASE, and the env when no flag is given', () => {
    expect(resolvePassphrase({ passphrase: 'flag pass' }, { IMV_PASSPHRASE: 'env pass' })).toBe(
      'flag pass',
    );
    expect(resolvePassphrase({}, { IMV_PASSPHRASE: 'env pass' })).toBe('env pass');
    expect(resolvePassphrase({}, {})).toBeUndefined();
  });

  it('reads --passphrase-file without its one trailing newline, keeping inner spaces', async () => {
    const file = path.join(tmp, 'pass');
    await writeFile(file, ' two words \n');
    expect(resolvePassphrase({ passphraseFile: file }, {})).toBe(' two words ');
  });

  it('refuses both flags, an empty passphrase, and an unreadable file with clear errors', () => {
    expect(() => resolvePassphrase({ passphrase: 'a', passphraseFile: 'b' }, {})).toThrow(
      expect.objectContaining({
        exitCode: EXIT.USAGE,
        message: 'give --passphrase or --passphrase-file, not both',
      }) as Error,
    );
    expect(() => resolvePassphrase({ passphrase: '' }, {})).toThrow('the passphrase is empty');
    expect(() => resolvePassphrase({ passphraseFile: path.join(tmp, 'missing') }, {})).toThrow(
      /^cannot read --passphrase-file .*missing: ENOENT/,
    );
  });
});

describe('resolveRoomKey', () => {
  it('takes --key over IMV_ROOM_KEY and refuses a key the server would refuse as a usage error', () => {
    expect(resolveRoomKey('door-key-1', { IMV_ROOM_KEY: 'other-key' })).toBe('door-key-1');
    expect(resolveRoomKey(undefined, { IMV_ROOM_KEY: 'other-key' })).toBe('other-key');
    expect(resolveRoomKey(undefined, {})).toBeUndefined();
    let error: unknown;
    try {
      resolveRoomKey('short', {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({
      exitCode: EXIT.USAGE,
      message: '--key: key must be at least 8 characters',
    });
  });
});

describe('splitFrames (.frames download body)', () => {
  it('splits [u16 BE length][bytes] records', () => {
    const body = new Uint8Array([
      0x00,
      0x02, // length 2
      0xaa,
      0xbb,
      0x00,
      0x00, // length 0
      0x00,
      0x01, // length 1
      0xcc,
    ]);
    expect(splitFrames(body).map((f) => [...f])).toEqual([[0xaa, 0xbb], [], [0xcc]]);
  });

  it('refuses a body cut inside a length or a frame', () => {
    expect(() => splitFrames(new Uint8Array([0x00, 0x01, 0xaa, 0x00]))).toThrow(
      '.frames body ends inside a length at byte 3',
    );
    expect(() => splitFrames(new Uint8Array([0x00, 0x03, 0xaa]))).toThrow(
      '.frames body ends inside a 3-byte frame at byte 2',
    );
  });
});
