import { readFileSync } from 'node:fs';

/** The @imv/cli package version, read once from its package.json. */
export const CLI_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** What this client calls itself in `hello`. */
export const CLIENT_NAME = `imv-cli/${CLI_VERSION}`;
