import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';

/**
 * One JSON object per line (pino). Lines about a WebSocket connection come from a child logger
 * and carry `conn`; lines about a voice message carry `room`, `streamId` and `messageId`.
 */
export function createLogger(config: ServerConfig): Logger {
  return pino(
    { level: config.logLevel, base: { svc: 'imv-server' } },
    config.logDestination ?? pino.destination({ dest: 1, sync: false }),
  );
}
