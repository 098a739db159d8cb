/** Something in a room that receives what is published there: a local WebSocket connection. */
export interface RoomSubscriber {
  /** A live audio frame, the very Buffer the talker sent (never copied or re-encoded). */
  deliverFrame(frame: Buffer): void;
  /** A serialized server control message (JSON text). */
  deliverControl(text: string): void;
}

/**
 * Fan-out of frames and control messages to the members of a room. MemoryBus serves one node;
 * a Redis or NATS bus can implement the same interface to span several.
 */
export interface RoomBus {
  subscribe(room: string, subscriber: RoomSubscriber): void;
  unsubscribe(room: string, subscriber: RoomSubscriber): void;
  /** Sends a frame to every subscriber of the room except `from`. Runs once per audio frame. */
  publishFrame(room: string, frame: Buffer, from: RoomSubscriber): void;
  /** Sends a control message to every subscriber of the room, except `except` when given. */
  publishControl(room: string, text: string, except?: RoomSubscriber): void;
  close(): Promise<void>;
}
