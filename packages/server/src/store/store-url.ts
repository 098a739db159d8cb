import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where a store lives, from `--store` / `IMV_STORE`. */
export type StoreLocation =
  | { kind: 'sqlite'; /** Directory of the SQLite file. */ dir: string; fileName: string }
  | { kind: 'postgres'; url: string };

/** The SQLite file of a data directory, as every release so far has used it. */
export const SQLITE_FILE_NAME = 'imv.sqlite';

/**
 * Parses a store URL: `sqlite:PATH` (a SQLite file, or a directory holding imv.sqlite) or
 * `postgres://…` / `postgresql://…`. Without a URL the store is `<dataDir>/imv.sqlite`.
 */
export function parseStoreUrl(url: string | undefined, dataDir: string): StoreLocation {
  if (url === undefined || url === '')
    return { kind: 'sqlite', dir: dataDir, fileName: SQLITE_FILE_NAME };
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new TypeError('not a valid URL');
    }
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const file = path.resolve(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
    if (file === path.resolve('')) throw new TypeError('sqlite: needs a file or directory path');
    if (existsSync(file) && statSync(file).isDirectory()) {
      return { kind: 'sqlite', dir: file, fileName: SQLITE_FILE_NAME };
    }
    return { kind: 'sqlite', dir: path.dirname(file), fileName: path.basename(file) };
  }
  throw new TypeError('expected sqlite:PATH or postgres://USER@HOST/DB');
}

/** The URL with its password replaced by `***`, fit for logs and error messages. */
export function maskStoreUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** How a store is named to people: `sqlite:/abs/file` or the masked PostgreSQL URL. */
export function describeStoreLocation(location: StoreLocation): string {
  return location.kind === 'sqlite'
    ? `sqlite:${path.join(location.dir, location.fileName)}`
    : maskStoreUrl(location.url);
}
