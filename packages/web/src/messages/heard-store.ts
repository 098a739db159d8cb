/** The part of Web Storage the page uses (localStorage, or a Map in unit tests). */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** How many heard ids one room keeps; older ones fold into a floor ("everything up to N"). */
export const MAX_HEARD_IDS = 500;
/** On the first visit to a room, messages older than this count as heard, so a newcomer is not flooded. */
export const FIRST_VISIT_UNHEARD_MS = 24 * 60 * 60 * 1000;

interface Saved {
  /** Every id at or below this was heard (or is too old to care). */
  floor: number;
  ids: number[];
}

/**
 * Which voice messages this browser has heard in one room, persisted in localStorage so messages
 * that arrive while the page is closed show as unheard (and auto-play) on the next visit.
 */
export class HeardStore {
  private floor = 0;
  private readonly ids = new Set<number>();
  /** True when this room had never been opened in this browser. */
  readonly firstVisit: boolean;
  private readonly key: string;

  constructor(
    private readonly storage: KeyValueStore,
    prefix: string,
    room: string,
  ) {
    this.key = `${prefix}heard.${room}`;
    const saved = parse(storage.getItem(this.key));
    this.firstVisit = saved === undefined;
    if (saved) {
      this.floor = saved.floor;
      for (const id of saved.ids) this.ids.add(id);
    } else {
      this.save();
    }
  }

  has(id: number): boolean {
    return id <= this.floor || this.ids.has(id);
  }

  /** Marks ids heard; returns true if anything changed. */
  add(...ids: number[]): boolean {
    let changed = false;
    for (const id of ids) {
      if (this.has(id)) continue;
      this.ids.add(id);
      changed = true;
    }
    if (changed) {
      this.trim();
      this.save();
    }
    return changed;
  }

  private trim(): void {
    if (this.ids.size <= MAX_HEARD_IDS) return;
    const sorted = [...this.ids].sort((a, b) => a - b);
    const drop = sorted.slice(0, sorted.length - MAX_HEARD_IDS);
    for (const id of drop) this.ids.delete(id);
    this.floor = Math.max(this.floor, drop[drop.length - 1] ?? 0);
  }

  private save(): void {
    const saved: Saved = { floor: this.floor, ids: [...this.ids] };
    try {
      this.storage.setItem(this.key, JSON.stringify(saved));
    } catch {
      // Storage full or disabled (private mode): heard state then lasts only for this page.
    }
  }
}

function parse(text: string | null): Saved | undefined {
  if (text == null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Saved>;
    const floor = typeof value.floor === 'number' ? value.floor : 0;
    const ids = Array.isArray(value.ids) ? value.ids.filter((id) => Number.isInteger(id)) : [];
    return { floor, ids };
  } catch {
    return { floor: 0, ids: [] };
  }
}
