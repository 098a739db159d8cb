import type { Logger } from 'pino';
import type { RoomBus } from './bus.js';
import { parseBusUrl } from './bus-url.js';
import { MemoryBus } from './memory-bus.js';
import { NatsBus } from './nats-bus.js';

/** Opens the bus a `--bus` value names; rejects with BusError for a bad or unreachable one. */
export async function openBus(
  url: string,
  options: { prefix: string; nodeId: string; log: Logger },
): Promise<RoomBus> {
  const parsed = parseBusUrl(url);
  if (parsed.kind === 'memory') return new MemoryBus();
  return NatsBus.open({ url: parsed, ...options });
}
