import { describe, expect, it } from 'vitest';
import { RoomMembers } from '../src/index.js';

const ana = { id: 'c1', name: 'Ana' };
const bo = { id: 'c2', name: 'Bo' };
const cy = { id: 'c3', name: 'Cy' };

describe('RoomMembers', () => {
  it('starts from joined and follows member-joined / member-left in join order', () => {
    const members = new RoomMembers();
    expect(
      members.apply({ type: 'joined', room: 'r', you: bo, members: [ana, bo], live: [] }),
    ).toBe(true);
    expect(members.apply({ type: 'member-joined', room: 'r', member: cy })).toBe(true);
    expect(members.list()).toEqual([ana, bo, cy]);
    expect(members.apply({ type: 'member-left', room: 'r', member: ana })).toBe(true);
    expect(members.list()).toEqual([bo, cy]);
  });

  it('ignores a member-left for someone not in the list and messages that are not presence', () => {
    const members = new RoomMembers();
    members.apply({ type: 'joined', room: 'r', you: ana, members: [ana], live: [] });
    expect(members.apply({ type: 'member-left', room: 'r', member: cy })).toBe(false);
    expect(members.apply({ type: 'message-deleted', room: 'r', id: 3 })).toBe(false);
    expect(members.list()).toEqual([ana]);
  });

  it('applies a members-changed batch: left first, then joined, keeping members it already has', () => {
    const members = new RoomMembers();
    members.apply({ type: 'joined', room: 'r', you: bo, members: [ana, bo], live: [] });
    // The newcomer's own batch names itself (bo), already in its list from joined.
    expect(
      members.apply({ type: 'members-changed', room: 'r', joined: [bo, cy], left: [ana] }),
    ).toBe(true);
    expect(members.list()).toEqual([bo, cy]);
    expect(members.apply({ type: 'members-changed', room: 'r', joined: [cy], left: [ana] })).toBe(
      false,
    );
  });

  it('replaces the list with a protocol 1 presence', () => {
    const members = new RoomMembers();
    members.apply({ type: 'joined', room: 'r', you: ana, members: [ana, bo], live: [] });
    members.apply({ type: 'presence', room: 'r', members: [cy] });
    expect(members.list()).toEqual([cy]);
    expect(members.size).toBe(1);
  });
});
