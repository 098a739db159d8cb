import { WS_PATH } from '@imv/protocol';

/** Default server when neither --server nor IMV_SERVER is given. */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

/** The server URL the user asked for: --server wins over IMV_SERVER, which wins over the default. */
export function pickServerUrl(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return (
    flag ??
    (env.IMV_SERVER !== undefined && env.IMV_SERVER !== '' ? env.IMV_SERVER : DEFAULT_SERVER_URL)
  );
}

function parseUrl(input: string): URL {
  // Accept "host:port" and bare hosts as people type them.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `http://${input}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new TypeError(
      `server URL "${input}" is not a valid URL (expected e.g. http://127.0.0.1:8080)`,
    );
  }
}

/** http(s)://host:port[/base] → ws(s)://host:port[/base]/ws. A ws(s) URL is used as given. */
export function toWebSocketUrl(server: string): string {
  const url = parseUrl(server);
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return url.toString();
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `server URL "${server}" must start with http://, https://, ws:// or wss://`,
    );
  }
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = url.pathname.replace(/\/+$/, '') + WS_PATH;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The HTTP base of the server (no trailing slash), for REST calls. A ws(s) URL maps back to http(s). */
export function toHttpBase(server: string): string {
  const url = parseUrl(server);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `server URL "${server}" must start with http://, https://, ws:// or wss://`,
    );
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(WS_PATH)) path = path.slice(0, -WS_PATH.length);
  return `${url.protocol}//${url.host}${path}`;
}
