/** Tiny element builder: enough structure for a handful of widgets without a framework. */

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

/**
 * Creates an element. `class` and `text` are shortcuts; keys starting with `on` add listeners;
 * `true` sets an empty attribute, `false`/null/undefined leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'text') {
      el.textContent = String(value ?? '');
    } else {
      setAttr(el, key, value);
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child == null || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

export function setAttr(el: Element, key: string, value: AttrValue): void {
  if (value == null || value === false) el.removeAttribute(key);
  else el.setAttribute(key, value === true ? '' : String(value));
}

/** Whether keyboard focus is in a place where the space bar types text. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset'].includes(target.type);
  }
  return false;
}
