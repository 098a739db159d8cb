#!/usr/bin/env node
// The imv command: the CLI compiled to plain JavaScript and bundled into one file (dist/imv.js,
// built by `npm ci` through the root prepare script, and by `npm run build` / `npm start`), so a
// start compiles no TypeScript and reads one module instead of hundreds.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
if (!existsSync(new URL('imv.js', dist))) {
  process.stderr.write(
    'imv: not built yet: run `npm run build` (or `npm ci`) in the imv checkout\n',
  );
  process.exit(1);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Scripts probe `imv --version`; answer it (as commander would) without loading the commands,
  // zod, ws and Opus, so it costs little more than starting Node.
  const { CLI_VERSION } = await import(new URL('version.js', dist).href);
  process.stdout.write(`${CLI_VERSION}\n`);
} else {
  await import(new URL('imv.js', dist).href);
}
