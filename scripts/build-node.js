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
