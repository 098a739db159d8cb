import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MESSAGE_TYPES } from '../src/index.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it.each([...ERROR_CODES])('has a row for error code %s', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${code}\` +\\|`, 'm'));
  });

  it.each([...new Set(MESSAGE_TYPES)])('describes message type %s', (type) => {
    expect(doc).toMatch(new RegExp(`^\\| \`${type}\` +\\|`, 'm'));
  });
});
