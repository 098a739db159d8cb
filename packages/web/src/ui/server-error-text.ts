/** What the page says for a server error code, in words a user can act on. */
export function serverErrorText(code: string, message: string): string {
  switch (code) {
    case 'MESSAGE_TOO_LONG':
      return `Your message reached the length limit and was sent as it was. (${message})`;
    case 'STORE_FAILED':
      return `The server could not save the message: ${message}`;
    case 'VERSION_MISMATCH':
      return `This page is out of date for the server. Reload the page. (${message})`;
    case 'SERVER_SHUTTING_DOWN':
      return 'The server is restarting. imv will reconnect by itself.';
    case 'ROOM_KEY_REQUIRED':
      return 'This room is locked with a key. Open the full invite link (the part after # carries the key).';
    case 'ROOM_KEY_WRONG':
      return 'The key for this room is wrong. Ask for a fresh invite link.';
    case 'RATE_LIMITED':
      return `The server asks to slow down: ${message}`;
    default:
      return `Server error ${code}: ${message}`;
  }
}

/** Shown when a live talk is encrypted and this page has no passphrase. */
export const NO_PASSPHRASE_LIVE =
  'Someone is talking, end-to-end encrypted — enter the passphrase (Change) to hear the room.';
