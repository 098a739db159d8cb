import type { RoomBus, RoomSubscriber } from './bus.js';

/** Single-node RoomBus: a Set of subscribers per room. publishFrame allocates nothing. */
export class MemoryBus implements RoomBus {
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

  publishFrame(room: string, frame: Buffer, from: RoomSubscriber): void {
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

  close(): Promise<void> {
    this.rooms.clear();
    return Promise.resolve();
  }
}
