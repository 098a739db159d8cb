import type { LiveStream, Member } from '@imv/protocol';

interface RoomEntry {
  members: Map<string, Member>;
  /** undefined = reserved by a talk-start whose message row is being created. */
  live: Map<number, LiveStream | undefined>;
}

/**
 * Room membership as connections see it. A cluster keeps a replica of every node's members here
 * (ClusterRooms), so reads stay synchronous on the join path.
 */
export interface RoomPresence {
  addMember(room: string, member: Member): void;
  removeMember(room: string, memberId: string): void;
  members(room: string): Member[];
  /** Rooms with members or live streams. */
  names(): string[];
}

/** Stream ids in use per room: a talk-start reserves one, its message row makes it live, the stop frees it. */
export interface LiveStreams {
  /** Claims a stream id in a room; false when another live stream there uses it. */
  reserveStream(room: string, streamId: number): boolean;
  setLive(room: string, stream: LiveStream): void;
  endStream(room: string, streamId: number): void;
  live(room: string): LiveStream[];
}

/** What the hub needs of room state: the seams where cluster-wide presence and streams plug in. */
export type RoomState = RoomPresence & LiveStreams;

/** Who is in which room and which streams are live there (this node's view). */
export class RoomRegistry implements RoomState {
  private readonly rooms = new Map<string, RoomEntry>();

  private state(room: string): RoomEntry {
    let state = this.rooms.get(room);
    if (state === undefined) {
      state = { members: new Map(), live: new Map() };
      this.rooms.set(room, state);
    }
    return state;
  }

  private dropIfEmpty(room: string): void {
    const state = this.rooms.get(room);
    if (state !== undefined && state.members.size === 0 && state.live.size === 0)
      this.rooms.delete(room);
  }

  addMember(room: string, member: Member): void {
    this.state(room).members.set(member.id, member);
  }

  removeMember(room: string, memberId: string): void {
    this.rooms.get(room)?.members.delete(memberId);
    this.dropIfEmpty(room);
  }

  /** Rooms with members or live streams on this node. */
  names(): string[] {
    return [...this.rooms.keys()];
  }

  members(room: string): Member[] {
    return [...(this.rooms.get(room)?.members.values() ?? [])];
  }

  live(room: string): LiveStream[] {
    const streams: LiveStream[] = [];
    for (const stream of this.rooms.get(room)?.live.values() ?? [])
      if (stream !== undefined) streams.push(stream);
    return streams;
  }

  /** Claims a stream id in a room; false when another live stream there uses it. */
  reserveStream(room: string, streamId: number): boolean {
    const live = this.state(room).live;
    if (live.has(streamId)) return false;
    live.set(streamId, undefined);
    return true;
  }

  setLive(room: string, stream: LiveStream): void {
    this.state(room).live.set(stream.streamId, stream);
  }

  endStream(room: string, streamId: number): void {
    this.rooms.get(room)?.live.delete(streamId);
    this.dropIfEmpty(room);
  }
}
