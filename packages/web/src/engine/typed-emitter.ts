/** Listener maps look like livekit's RoomEventCallbacks: `{ state: (state: ConnectionState) => void; … }`. */
type EventMap<Events> = { [E in keyof Events]: (...args: never[]) => void };

/**
 * A small typed event emitter. A listener that throws is logged and does not stop the others, so
 * one broken UI handler cannot wedge the engine.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (e) {
        console.error(`imv: a '${String(event)}' listener threw`, e);
      }
    }
  }
}
