import os from 'node:os';
import { MAX_NAME_LENGTH } from '@imv/protocol';

/** `user@host`, cut to the protocol's 40-character limit. */
export function defaultName(): string {
  let user = 'imv';
  try {
    user = os.userInfo().username || user;
  } catch {
    // No passwd entry (some containers): keep the fallback.
  }
  return `${user}@${os.hostname()}`.slice(0, MAX_NAME_LENGTH);
}
