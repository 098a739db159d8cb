/** Room names: lower-case letters, digits, '-' and '_', 1 to 64 characters, starting with a letter or digit. */
export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_ROOM = 'lobby';
/** Display names: 1 to 40 characters, no control characters. */
export const MAX_NAME_LENGTH = 40;
// eslint-disable-next-line no-control-regex
export const NAME_PATTERN = /^[^\u0000-\u001f\u007f]+$/u;

/** Turns what a person typed into a valid room name, or undefined when nothing is left. */
export function normalizeRoom(input: string): string | undefined {
  const room = input
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64);
  return ROOM_PATTERN.test(room) ? room : undefined;
}
