import { BusError } from './bus-errors.js';
/**
 * NATS subjects of one cluster, all under a prefix so that several clusters (or test runs) can share
 * one NATS server:
 *   <prefix>.room.<room token>.frame    live audio frames, the talker's bytes unchanged
 *   <prefix>.room.<room token>.control  control messages (JSON text, as members receive them)
 *   <prefix>.nodes                      node heartbeats and room state (JSON text)
 * Room names may hold '.', '*', '>' or spaces, which NATS subjects cannot; the token is the name's
 * UTF-8 bytes in base64url, which only uses [A-Za-z0-9_-].
 */
export interface NatsSubjects {
  frame(room: string): string;
  control(room: string): string;
  readonly nodes: string;
}

const PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function natsSubjects(prefix: string): NatsSubjects {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new BusError(
      `bus subject prefix "${prefix}" must be dot-separated tokens of letters, digits, '-' and '_'`,
    );
  }
  const token = (room: string): string => Buffer.from(room, 'utf8').toString('base64url');
  return {
    frame: (room) => `${prefix}.room.${token(room)}.frame`,
    control: (room) => `${prefix}.room.${token(room)}.control`,
    nodes: `${prefix}.nodes`,
  };
}
