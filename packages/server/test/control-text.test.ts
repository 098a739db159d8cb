import type { Joined } from '@imv/protocol';
import { describe, expect, it } from 'vitest';
import { joinedText } from '../src/ws/control-text.js';

describe('joinedText', () => {
  it('is the JSON of the joined message, names with quotes and non-ASCII included', () => {
    const ana = { id: 'c1', name: 'Ana "A" Ñúñez 🎙', clientId: 'k1' };
    const bo = { id: 'c2', name: 'Bo\\' };
    const joined: Joined = {
      type: 'joined',
      room: 'crew',
      you: bo,
      members: [ana, bo],
      live: [],
      keyed: false,
    };
    expect(JSON.parse(joinedText(joined))).toEqual(joined);
    // Kept member JSON is reused: the same text for the same members.
    expect(joinedText(joined)).toBe(joinedText({ ...joined, members: [ana, bo] }));
    expect(JSON.parse(joinedText({ ...joined, members: [] }))).toEqual({ ...joined, members: [] });
  });
});
