import { describe, expect, it } from 'vitest';
import {
  MAX_TEXT_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  normalizeRoom,
  parseClientMessage,
} from '../src/index.js';

function codeOf(text: string): string {
  try {
    parseClientMessage(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('control messages', () => {
  it('parses a valid hello and join', () => {
    expect(
      parseClientMessage(
        JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 't', name: ' Ana ' }),
      ),
    ).toEqual({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      client: 't',
      name: 'Ana',
    });
    expect(parseClientMessage('{"type":"join","room":"crew","since":"all"}')).toEqual({
      type: 'join',
      room: 'crew',
      since: 'all',
    });
  });

  it('tells bad JSON, unknown types, schema failures and oversize text apart', () => {
    expect(codeOf('{nope')).toBe('BAD_JSON');
    expect(codeOf('[1,2]')).toBe('BAD_MESSAGE');
    expect(codeOf('{"type":"dance"}')).toBe('UNKNOWN_TYPE');
    expect(codeOf('{"type":"join","room":"Not A Room!"}')).toBe('BAD_MESSAGE');
    expect(codeOf('{"type":"talk-start","streamId":-1}')).toBe('BAD_MESSAGE');
    expect(codeOf(JSON.stringify({ type: 'hello', pad: 'x'.repeat(MAX_TEXT_BYTES) }))).toBe(
      'TEXT_TOO_LARGE',
    );
  });

  it('names the field at fault', () => {
    expect(() => parseClientMessage('{"type":"join","room":""}')).toThrow(/invalid "join": room:/);
  });

  it('normalizes typed room names', () => {
    expect(normalizeRoom('  Night Shift ')).toBe('night-shift');
    expect(normalizeRoom('***')).toBeUndefined();
  });
});
