// Compiles the Node packages (protocol, media, server, cli) from src/*.ts to dist/*.js, file by
// file, so `imv` and the server run plain JavaScript instead of compiling TypeScript at every start.
// Run by `npm ci` / `npm install` (prepare), `npm run build` and `npm start`; takes well under a
// second; files are overwritten in place, never deleted first, so a test run using dist/ is not
// disturbed. Type checking stays with `tsc -b` (npm test). Each dist/ mirrors its src/, so paths
// relative to a module (../package.json, ./admin-page/) hold in both, and files that are not
// TypeScript (the admin page, the worker boot file) are copied beside the compiled code.
import { cp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const PACKAGES = ['protocol', 'media', 'server', 'cli'];

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

for (const name of PACKAGES) {
  const srcDir = path.join(root, 'packages', name, 'src');
  const distDir = path.join(root, 'packages', name, 'dist');
  const files = await filesUnder(srcDir);
  const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  await build({
    entryPoints: sources.map((f) => path.join(srcDir, f)),
    outdir: distDir,
    outbase: srcDir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const asset of files.filter((f) => !f.endsWith('.ts'))) {
    await cp(path.join(srcDir, asset), path.join(distDir, asset));
  }
}

// The `imv` command itself runs from one bundled file (packages/cli/dist/imv.js, beside main.js so
// module-relative paths such as ../package.json still hold): Node then reads, resolves and
// compiles one module instead of ~170 (zod alone is 95 files), which is most of a short command's
// start-up. Left outside the bundle: the server (loaded only by `serve`/`store`, with native
// SQLite), the Opus and resampler packages (they load their WebAssembly from beside their own
// files) and ws's optional native helpers. `createRequire` gives the bundled CommonJS packages
// (ws, commander) a `require` for Node's built-in modules.
const cliDir = path.join(root, 'packages', 'cli');
await build({
  entryPoints: [path.join(cliDir, 'src', 'main.ts')],
  outfile: path.join(cliDir, 'dist', 'imv.js'),
  bundle: true,
  conditions: ['imv-source'],
  external: [
    '@imv/server',
    '@imv/server/*',
    '@evan/opus',
    '@alexanderolsen/libsamplerate-js',
    'bufferutil',
    'utf-8-validate',
  ],
  banner: {
    js: "import { createRequire as imvCreateRequire } from 'node:module'; const require = imvCreateRequire(import.meta.url);",
  },
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
