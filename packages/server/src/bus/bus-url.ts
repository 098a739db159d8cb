import { BusError } from './bus-errors.js';
/** A parsed `--bus` value. */
export type BusUrl =
  | { kind: 'memory' }
  | {
      kind: 'nats';
      /** `nats://host:port` for each server, credentials removed. */
      servers: string[];
      user?: string;
      pass?: string;
      /** The URL as logs and errors show it (password masked). */
      display: string;
    };

const DEFAULT_NATS_PORT = 4222;

/**
 * Parses `memory` or `nats://[user:pass@]host[:port][,host[:port]…]`. Every host after the first
 * may be written with or without its own `nats://`.
 */
export function parseBusUrl(value: string): BusUrl {
  const text = value.trim();
  if (text === '' || text === 'memory') return { kind: 'memory' };
  if (!text.startsWith('nats://')) {
    throw new BusError(
      `bus URL ${maskBusUrl(text)} is not "memory" or nats://host:port[,host:port…]`,
    );
  }
  const parts = text.slice('nats://'.length).split(',');
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  for (const raw of parts) {
    const part = raw.trim().replace(/^nats:\/\//, '');
    let url: URL;
    try {
      url = new URL(`nats://${part}`);
    } catch {
      throw new BusError(`bus URL ${maskBusUrl(text)}: "${maskBusUrl(part)}" is not host:port`);
    }
    if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/')) {
      throw new BusError(`bus URL ${maskBusUrl(text)}: "${maskBusUrl(part)}" is not host:port`);
    }
    if (url.username !== '') {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    }
    servers.push(`nats://${url.hostname}:${url.port === '' ? DEFAULT_NATS_PORT : url.port}`);
  }
  return {
    kind: 'nats',
    servers,
    ...(user !== undefined && { user, pass }),
    display: maskBusUrl(text),
  };
}

/** The URL with any password replaced by `***`, fit for logs and error messages. */
export function maskBusUrl(text: string): string {
  return text
    .replace(/\/\/([^:@/,]+):[^@/,]*@/g, '//$1:***@')
    .replace(/(^|,)([^:@/,]+):[^@/,]*@/g, '$1$2:***@');
}
