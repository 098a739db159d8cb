import type { BusKind, RoomBus, RoomSubscriber } from './bus.js';

/** Single-node RoomBus: a Set of subscribers per room. publishFrame allocates nothing. */
export class MemoryBus implements RoomBus {
  readonly kind: BusKind = 'memory';
  readonly url = 'memory';
  readonly reachable = true;
  private readonly rooms = new Map<string, Set<RoomSubscriber>>();

  subscribe(room: string, subscriber: RoomSubscriber): void {
    let subscribers = this.rooms.get(room);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.rooms.set(room, subscribers);
    }
    subscribers.add(subscriber);
  }

  unsubscribe(room: string, subscriber: RoomSubscriber): void {
    const subscribers = this.rooms.get(room);
    if (subscribers === undefined) return;
    subscribers.delete(subscriber);
    if (subscribers.size === 0) this.rooms.delete(room);
  }

  /** How many local subscribers the room has. */
  count(room: string): number {
    return this.rooms.get(room)?.size ?? 0;
  }

  publishFrame(room: string, frame: Buffer, from: RoomSubscriber | undefined): void {
    const subscribers = this.rooms.get(room);
    if (subscribers === undefined) return;
    for (const subscriber of subscribers) {
      if (subscriber !== from) subscriber.deliverFrame(frame);
    }
  }

  publishControl(room: string, text: string, except?: RoomSubscriber): void {
    const subscribers = this.rooms.get(room);
    if (subscribers === undefined) return;
    for (const subscriber of subscribers) {
      if (subscriber !== except) subscriber.deliverControl(text);
    }
  }

  deliverLocalControl(room: string, text: string): void {
    this.publishControl(room, text);
  }

  publishNode(): void {}

  setRemoteHandlers(): void {}

  close(): Promise<void> {
    this.rooms.clear();
    return Promise.resolve();
  }
}
