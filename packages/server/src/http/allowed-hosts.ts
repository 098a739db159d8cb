import { isIP } from 'node:net';

/*
 * DNS rebinding: a page on evil.example can make its own name resolve to this server's LAN address,
 * and the browser then treats the server as same-origin with the page (it sends `Host:
 * evil.example:8080` and `Origin: http://evil.example:8080`). The server therefore answers only the
 * host names it is known by, on every listener and on the WebSocket upgrade. An IP address in `Host`
 * is always accepted: rebinding needs a name the attacker controls, and the server can be reached
 * at addresses it cannot see itself (port forwarding, containers).
 */

// RFC 1123 labels, or a single-label wildcard ('*.example.org') as certificates carry it.
const HOST_NAME =
  /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The lower-case host name of a Host header ('[::1]:8080' → '::1', 'Name.:80' → 'name'); undefined when malformed. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/i.exec(hostHeader.trim());
  if (match === null) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? match[1].toLowerCase() : undefined;
  const name = match[2]!.toLowerCase().replace(/\.$/, '');
  return isIP(name) !== 0 || HOST_NAME.test(name) ? name : undefined;
}

/** Normalises a configured name ('Voice.Example.org.' → 'voice.example.org'); throws on anything else. */
export function normalizeHostName(name: string): string {
  const host = name.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(host) !== 0 || HOST_NAME.test(host)) return host;
  throw new TypeError(
    `'${name}' is not a host name (letters, digits, '-' and '.', e.g. voice.example.org)`,
  );
}

/** The host names this server answers to. */
export class AllowedHosts {
  private readonly names = new Set<string>();

  constructor(names: Iterable<string> = []) {
    for (const name of names) this.add(name);
  }

  add(name: string): void {
    this.names.add(normalizeHostName(name));
  }

  /** Whether a request with this Host header is for this server. */
  allows(hostHeader: string | undefined): boolean {
    const host = hostnameOf(hostHeader);
    if (host === undefined) return false;
    if (isIP(host) !== 0 || this.names.has(host)) return true;
    // A certificate's '*.example.org' covers exactly one more label, as in TLS (RFC 6125).
    const dot = host.indexOf('.');
    return dot > 0 && this.names.has(`*${host.slice(dot)}`);
  }

  list(): string[] {
    return [...this.names];
  }
}
