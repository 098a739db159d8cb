import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** @imv/server package version. */
export const SERVER_VERSION = pkg.version;
/** Sent in `welcome.server`. */
export const SERVER_NAME = `imv-server/${SERVER_VERSION}`;
