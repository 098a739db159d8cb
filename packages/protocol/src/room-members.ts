import type { Member, ServerMessage } from './messages.js';

/**
 * A client's view of who is in its room: the list from `joined`, then kept up to date by the
 * `member-joined` / `member-left` deltas (protocol 2) and `members-changed` batches (protocol 3),
 * or replaced by a protocol 1 `presence`.
 * Members stay in the order they joined.
 */
export class RoomMembers {
  private readonly byId = new Map<string, Member>();

  /** Takes a server message; true when it changed the list. */
  apply(message: ServerMessage): boolean {
    switch (message.type) {
      case 'joined':
      case 'presence':
        this.byId.clear();
        for (const member of message.members) this.byId.set(member.id, member);
        return true;
      case 'member-joined':
        this.byId.set(message.member.id, message.member);
        return true;
      case 'member-left':
        return this.byId.delete(message.member.id);
      case 'members-changed': {
        let changed = false;
        for (const member of message.left) changed = this.byId.delete(member.id) || changed;
        for (const member of message.joined) {
          if (this.byId.has(member.id)) continue;
          this.byId.set(member.id, member);
          changed = true;
        }
        return changed;
      }
      default:
        return false;
    }
  }

  list(): Member[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
