import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { Bonjour, type Service } from 'bonjour-service';

/*
 * LAN discovery with mDNS / DNS-SD (RFC 6762 / RFC 6763): the server announces `_imv._tcp` and
 * `imv` clients list what answers, so nobody types an IP address. The TXT record carries what a
 * client needs before it connects: protocol version and, for https, the port and the certificate
 * fingerprint to compare with what the QR code or the server's console shows.
 */

/** DNS-SD service type: `_imv._tcp.local`. */
export const IMV_SERVICE_TYPE = 'imv';
/** RFC 6763 §6.7: the first TXT key says the TXT layout version. */
const TXT_VERSION = '1';

export interface AnnounceOptions {
  /** Instance name shown to users, e.g. "imv on kitchen-pc"; made unique by a suffix on conflict. */
  name: string;
  /** Port of the plain-HTTP/ws listener (localhost use, or the only one). */
  port: number;
  /** Port of the https/wss listener, when TLS is on. */
  httpsPort?: number;
  /** SHA-256 fingerprint of the server certificate ('AB:CD:…'). */
  fingerprint?: string;
  /** Protocol major version (PROTOCOL_VERSION). */
  protocol: number;
  /** Server software version, e.g. '0.1.0'. */
  version?: string;
  /** Host name for the SRV record; default `<os hostname>.local` (RFC 6762 names end in .local). */
  host?: string;
  /** Only use the interface with this IPv4 address (default: every interface). */
  interfaceAddress?: string;
  /** Socket errors (e.g. no multicast route); announcing is best-effort. Default: console.warn. */
  onError?: (err: unknown) => void;
}

export interface Announcement {
  /** Sends goodbye packets (TTL 0) and closes the mDNS socket. */
  stop(): Promise<void>;
}

export interface DiscoverOptions {
  /** How long to listen for answers. */
  timeoutMs: number;
  /** Only use the interface with this IPv4 address (default: every interface). */
  interfaceAddress?: string;
  /** Socket errors; discovery then returns what it found. Default: console.warn. */
  onError?: (err: unknown) => void;
}

export interface DiscoveredServer {
  name: string;
  /** The announced host name, e.g. 'kitchen-pc.local'. */
  host: string;
  /** A/AAAA addresses; IPv4 first. */
  addresses: string[];
  port: number;
  httpsPort?: number;
  fingerprint?: string;
  protocol?: number;
  version?: string;
  /** Where to point a browser or the CLI: https when announced, by IPv4 address when there is one. */
  url: string;
}

function multicastOptions(interfaceAddress: string | undefined): object {
  // Passed through bonjour-service to multicast-dns, which uses `interface` for IP_MULTICAST_IF and
  // the group membership, but also binds to it unless told otherwise: Linux does not deliver
  // multicast to a socket bound to a unicast address, so bind to the wildcard.
  return interfaceAddress === undefined ? {} : { interface: interfaceAddress, bind: '0.0.0.0' };
}

/** Announces this server on the LAN until `stop()`. */
export function announce(options: AnnounceOptions): Announcement {
  const txt: Record<string, string> = { txtvers: TXT_VERSION, protocol: String(options.protocol) };
  if (options.version !== undefined) txt.version = options.version;
  if (options.httpsPort !== undefined) txt.https = String(options.httpsPort);
  if (options.fingerprint !== undefined) txt.fp = options.fingerprint;
  // multicast-dns reports socket errors here (e.g. no multicast route); an announcement is best-effort.
  const onError =
    options.onError ??
    ((err: unknown) => console.warn(`imv: mDNS announcement error: ${String(err)}`));
  const bonjour = new Bonjour(multicastOptions(options.interfaceAddress), onError);
  const host = options.host ?? (hostname().includes('.') ? hostname() : `${hostname()}.local`);
  bonjour.publish({ name: options.name, type: IMV_SERVICE_TYPE, port: options.port, host, txt });
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      });
      return stopped;
    },
  };
}

function toDiscovered(service: Service): DiscoveredServer {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = txt[key];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const portOf = (key: string): number | undefined => {
    const n = Number(text(key));
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
  };
  const addresses = [...new Set(service.addresses ?? [])].sort((a, b) => isIP(a) - isIP(b));
  const httpsPort = portOf('https');
  const protocol = Number(text('protocol'));
  const hostForUrl = addresses[0] ?? service.host;
  const urlHost = isIP(hostForUrl) === 6 ? `[${hostForUrl}]` : hostForUrl;
  return {
    name: service.name,
    host: service.host,
    addresses,
    port: service.port,
    ...(httpsPort !== undefined && { httpsPort }),
    ...(text('fp') !== undefined && { fingerprint: text('fp') }),
    ...(Number.isInteger(protocol) && protocol > 0 && { protocol }),
    ...(text('version') !== undefined && { version: text('version') }),
    url:
      httpsPort !== undefined
        ? `https://${urlHost}:${httpsPort}/`
        : `http://${urlHost}:${service.port}/`,
  };
}

/** Lists the imv servers that answer on the LAN within `timeoutMs`. */
export async function discover(options: DiscoverOptions): Promise<DiscoveredServer[]> {
  const onError =
    options.onError ??
    ((err: unknown) => console.warn(`imv: mDNS discovery error: ${String(err)}`));
  const bonjour = new Bonjour(multicastOptions(options.interfaceAddress), onError);
  const found = new Map<string, DiscoveredServer>();
  const browser = bonjour.find({ type: IMV_SERVICE_TYPE }, (service) => {
    found.set(service.fqdn || service.name, toDiscovered(service));
  });
  // Answers to the first query come back within a second; later ones update TXT/addresses.
  browser.on('txt-update', (service) =>
    found.set(service.fqdn || service.name, toDiscovered(service)),
  );
  browser.on('srv-update', (service) =>
    found.set(service.fqdn || service.name, toDiscovered(service)),
  );
  await new Promise((resolve) => setTimeout(resolve, options.timeoutMs));
  browser.stop();
  await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}
