/** Something in a room that receives what is published there: a local WebSocket connection. */
export interface RoomSubscriber {
  /** A live audio frame, the very Buffer the talker sent (never copied or re-encoded). */
  deliverFrame(frame: Buffer): void;
  /** A serialized server control message (JSON text). */
  deliverControl(text: string): void;
}

/** `memory`: one node; `nats`: every node connected to the same NATS servers and subject prefix. */
export type BusKind = 'memory' | 'nats';

/** What the cluster layer hears from the other nodes through the bus. */
export interface RemoteHandlers {
  /** A node-level message (heartbeat, room state) another node published with publishNode. */
  onNode(text: string): void;
  /**
   * A room control message another node published. Return false to keep it from this node's
   * members (the cluster layer rebuilds presence from its own view instead of relaying another's).
   */
  onControl(room: string, text: string): boolean;
  /** The bus went down (false) or came back (true). */
  onReachability(reachable: boolean): void;
}

/**
 * Fan-out of frames and control messages to the members of a room. MemoryBus serves one node;
 * NatsBus spans every node on the same NATS subjects and still serves local members while NATS is down.
 */
export interface RoomBus {
  readonly kind: BusKind;
  /** Where the bus connects, with any password masked ('memory' for MemoryBus). */
  readonly url: string;
  /** False while a networked bus cannot reach its servers; local fan-out keeps working. */
  readonly reachable: boolean;
  subscribe(room: string, subscriber: RoomSubscriber): void;
  unsubscribe(room: string, subscriber: RoomSubscriber): void;
  /** Sends a frame to every subscriber of the room except `from`. Runs once per audio frame. */
  publishFrame(room: string, frame: Buffer, from: RoomSubscriber): void;
  /** Sends a control message to every subscriber of the room, except `except` when given. */
  publishControl(room: string, text: string, except?: RoomSubscriber): void;
  /** Sends a control message to this node's subscribers of the room only. */
  deliverLocalControl(room: string, text: string): void;
  /** Sends a node-level message to every other node (dropped by MemoryBus: there are none). */
  publishNode(text: string): void;
  /** Where messages from other nodes go; MemoryBus never calls them. */
  setRemoteHandlers(handlers: RemoteHandlers): void;
  close(): Promise<void>;
}
