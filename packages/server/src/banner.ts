import type { ImvServer } from './server.js';

/** Prints where the server can be reached, one URL per line (tests parse http://127.0.0.1:PORT). */
export function printBanner(server: ImvServer, out: NodeJS.WritableStream = process.stdout): void {
  const lines = ['imv server listening', ...new Set([server.httpUrl, ...server.urls]).values()].map(
    (u, i) => (i === 0 ? u : `  ${u}`),
  );
  out.write(`${lines.join('\n')}\n`);
}
