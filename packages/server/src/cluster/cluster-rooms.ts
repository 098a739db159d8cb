import type { LiveStream, Member } from '@imv/protocol';
import type { Logger } from 'pino';
import type { RoomBus } from '../bus/bus.js';
import { RoomRegistry } from '../ws/rooms.js';
import { PRESENCE_DELTA_PREFIX, controlText } from '../ws/control-text.js';
import { nodeMessageSchema, type NodeMessage, type NodeRoom } from './node-messages.js';

/** A live node of the cluster as /api/cluster and the welcome message show it. */
export interface ClusterNode {
  id: string;
  urls: string[];
  connections: number;
  startedAt: number;
  /** Epoch ms of its last heartbeat (now, for this node). */
  lastHeartbeat: number;
  self: boolean;
}

export interface ClusterOptions {
  bus: RoomBus;
  log: Logger;
  /** Every this often the node tells the others it is alive, with its whole room state. */
  heartbeatMs: number;
  /** A node not heard from for this long is dead: its members leave and its live streams stop. */
  nodeTimeoutMs: number;
  /** This node's client URLs and connection count, read at each heartbeat. */
  urls(): string[];
  connections(): number;
}

interface RemoteNode {
  id: string;
  urls: string[];
  connections: number;
  startedAt: number;
  lastHeartbeat: number;
  rooms: Map<string, NodeRoom>;
}

const EMPTY_ROOM: NodeRoom = { members: [], live: [] };

/** A bound on remembered peer origins, however many nodes come and go. */
const MAX_PEER_ORIGINS = 1024;

/**
 * The RoomRegistry of a node in a cluster: this node's members and streams as before, plus those of
 * every other live node, learned from their heartbeats and room messages on the bus. Presence deltas
 * for local members are derived here whenever another node's part of a room changes, so the presence
 * messages other nodes publish are not relayed (they would race with this node's own view).
 */
export class ClusterRooms extends RoomRegistry {
  private readonly nodes = new Map<string, RemoteNode>();
  /** Origins of every node heard from since start, dead ones included (see peerOrigins). */
  private readonly origins = new Set<string>();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Empty until start(): nothing is sent or taken in before the node listens. */
  private id = '';
  private readonly options: ClusterOptions;

  constructor(options: ClusterOptions) {
    super();
    this.options = options;
    options.bus.setRemoteHandlers({
      onNode: (text) => this.onNodeMessage(text),
      // Presence for local members comes from this node's view of the others' rooms (below).
      onControl: (_room, text) =>
        !text.startsWith('{"type":"presence"') && !text.startsWith(PRESENCE_DELTA_PREFIX),
      onReachability: (reachable) => {
        // Back on the bus: tell the others where we stand at once instead of at the next beat.
        if (reachable) this.heartbeat();
      },
    });
  }

  get nodeId(): string {
    return this.id;
  }

  /** Starts the heartbeat (after the node listens, so it has an id and URLs to announce). */
  start(nodeId: string): void {
    this.id = nodeId;
    this.heartbeat();
    this.timer = setInterval(() => {
      this.heartbeat();
      this.expireNodes();
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeat and tells the other nodes this one is leaving. */
  stop(): void {
    clearInterval(this.timer);
    if (this.id !== '') this.publish({ type: 'bye', node: this.nodeId });
    this.id = '';
  }

  /** This node and every other node heard from within nodeTimeoutMs. */
  liveNodes(): ClusterNode[] {
    const now = Date.now();
    return [
      {
        id: this.nodeId,
        urls: this.options.urls(),
        connections: this.options.connections(),
        startedAt: this.startedAt,
        lastHeartbeat: now,
        self: true,
      },
      ...[...this.nodes.values()].map((n) => ({
        id: n.id,
        urls: n.urls,
        connections: n.connections,
        startedAt: n.startedAt,
        lastHeartbeat: n.lastHeartbeat,
        self: false,
      })),
    ];
  }

  /**
   * The origins (`http://host:port`) of every other node heard from since this one started, dead
   * ones included: a page served by a node that died fails over here and still has its origin.
   * The web routes and the WebSocket accept them as they accept this node's own.
   */
  peerOrigins(): ReadonlySet<string> {
    return this.origins;
  }

  /** The other live nodes and their client URLs, for the welcome message (failover targets). */
  otherNodes(): { id: string; urls: string[] }[] {
    return [...this.nodes.values()].map((n) => ({ id: n.id, urls: n.urls }));
  }

  private notePeerOrigins(urls: readonly string[]): void {
    for (const url of urls) {
      if (this.origins.size >= MAX_PEER_ORIGINS) return;
      try {
        const { protocol, origin } = new URL(url);
        if (protocol === 'http:' || protocol === 'https:') this.origins.add(origin);
      } catch {
        // a node announcing a malformed URL only loses failover to it
      }
    }
  }

  // ---- the RoomRegistry view: local plus remote ---------------------------------------------

  override addMember(room: string, member: Member): void {
    super.addMember(room, member);
    this.announceRoom(room);
  }

  override removeMember(room: string, memberId: string): void {
    super.removeMember(room, memberId);
    this.announceRoom(room);
  }

  override setLive(room: string, stream: LiveStream): void {
    super.setLive(room, stream);
    this.announceRoom(room);
  }

  override endStream(room: string, streamId: number): void {
    super.endStream(room, streamId);
    this.announceRoom(room);
  }

  override members(room: string): Member[] {
    const members = super.members(room);
    for (const node of this.nodes.values()) {
      const state = node.rooms.get(room);
      if (state !== undefined) members.push(...state.members);
    }
    return members;
  }

  override live(room: string): LiveStream[] {
    const live = super.live(room);
    for (const node of this.nodes.values()) {
      const state = node.rooms.get(room);
      if (state !== undefined) live.push(...state.live);
    }
    return live;
  }

  /**
   * A stream id is refused when it is live anywhere in the cluster as this node knows it. Two nodes
   * granting the same id within one bus round trip is the remaining window; clients pick random
   * 32-bit ids, so that takes two talkers starting at once with the same one-in-4-billion id.
   */
  override reserveStream(room: string, streamId: number): boolean {
    for (const node of this.nodes.values()) {
      if (node.rooms.get(room)?.live.some((s) => s.streamId === streamId) === true) return false;
    }
    return super.reserveStream(room, streamId);
  }

  override names(): string[] {
    const names = new Set(super.names());
    for (const node of this.nodes.values()) for (const room of node.rooms.keys()) names.add(room);
    return [...names];
  }

  // ---- talking to the other nodes -----------------------------------------------------------

  private publish(message: NodeMessage): void {
    if (this.id === '') return;
    this.options.bus.publishNode(JSON.stringify(message));
  }

  private localRoom(room: string): NodeRoom {
    return { members: super.members(room), live: super.live(room) };
  }

  private announceRoom(room: string): void {
    this.publish({ type: 'room', node: this.nodeId, room, state: this.localRoom(room) });
  }

  private heartbeat(): void {
    const rooms: Record<string, NodeRoom> = {};
    for (const room of super.names()) rooms[room] = this.localRoom(room);
    this.publish({
      type: 'heartbeat',
      node: this.nodeId,
      urls: this.options.urls(),
      connections: this.options.connections(),
      startedAt: this.startedAt,
      rooms,
    });
  }

  private onNodeMessage(text: string): void {
    if (this.id === '') return;
    let message: NodeMessage;
    try {
      message = nodeMessageSchema.parse(JSON.parse(text));
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'bus: unreadable node message');
      return;
    }
    if (message.node === this.nodeId) {
      this.options.log.warn(
        { node: message.node },
        'bus: another node uses this node id; give each node its own --node-id',
      );
      return;
    }
    switch (message.type) {
      case 'heartbeat': {
        let node = this.nodes.get(message.node);
        if (node === undefined) {
          node = {
            id: message.node,
            urls: message.urls,
            connections: message.connections,
            startedAt: message.startedAt,
            lastHeartbeat: Date.now(),
            rooms: new Map(),
          };
          this.nodes.set(message.node, node);
          this.options.log.info({ node: message.node, urls: message.urls }, 'node joined');
          // Answer at once so the newcomer has this node's rooms without waiting a full beat.
          this.heartbeat();
        }
        node.urls = message.urls;
        this.notePeerOrigins(message.urls);
        node.connections = message.connections;
        node.lastHeartbeat = Date.now();
        const rooms = new Set([...node.rooms.keys(), ...Object.keys(message.rooms)]);
        for (const room of rooms) this.replaceRoom(node, room, message.rooms[room] ?? EMPTY_ROOM);
        return;
      }
      case 'room': {
        const node = this.nodes.get(message.node);
        // A node not yet heard from in a heartbeat is taken in at its first beat.
        if (node === undefined) return;
        this.replaceRoom(node, message.room, message.state);
        return;
      }
      case 'bye': {
        const node = this.nodes.get(message.node);
        if (node !== undefined) this.dropNode(node, 'left');
        return;
      }
    }
  }

  /** Takes a node's new view of a room and tells local members what changed for them. */
  private replaceRoom(node: RemoteNode, room: string, state: NodeRoom): void {
    const before = node.rooms.get(room) ?? EMPTY_ROOM;
    if (state.members.length === 0 && state.live.length === 0) node.rooms.delete(room);
    else node.rooms.set(room, state);
    this.sendPresenceDeltas(room, before.members, state.members);
  }

  private expireNodes(): void {
    const deadline = Date.now() - this.options.nodeTimeoutMs;
    for (const node of [...this.nodes.values()]) {
      if (node.lastHeartbeat < deadline) this.dropNode(node, 'lost');
    }
  }

  /** A node left or stopped answering: its members leave and its live streams stop, for local members. */
  private dropNode(node: RemoteNode, why: 'left' | 'lost'): void {
    this.nodes.delete(node.id);
    const log = this.options.log;
    if (why === 'lost') {
      log.warn(
        { node: node.id, silentMs: Date.now() - node.lastHeartbeat },
        'node lost: no heartbeat',
      );
    } else log.info({ node: node.id }, 'node left');
    for (const [room, state] of node.rooms) {
      for (const stream of state.live) {
        this.options.bus.deliverLocalControl(
          room,
          controlText({
            type: 'talk-stopped',
            room,
            streamId: stream.streamId,
            messageId: stream.messageId,
            reason: 'disconnect',
          }),
        );
      }
      this.sendPresenceDeltas(room, state.members, []);
    }
  }

  /** member-left / member-joined to local members for each change in a node's members of a room. */
  private sendPresenceDeltas(
    room: string,
    before: readonly Member[],
    after: readonly Member[],
  ): void {
    const bus = this.options.bus;
    const now = new Map(after.map((m) => [m.id, m]));
    for (const member of before) {
      if (now.get(member.id)?.name === member.name) now.delete(member.id);
      else bus.deliverLocalControl(room, controlText({ type: 'member-left', room, member }));
    }
    for (const member of now.values())
      bus.deliverLocalControl(room, controlText({ type: 'member-joined', room, member }));
  }
}
