// Fails when the sources have an import cycle (type-only imports count too): runs dpdm over
// packages/*/src and compares what it finds with KNOWN_CYCLES. Run: npm run check:cycles
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/**
 * Cycles still being taken apart, each as its files in dpdm's order. Remove a line when its cycle
 * is gone (the check says so); never add one.
 */
const KNOWN_CYCLES = [];

const dir = mkdtempSync(path.join(tmpdir(), 'imv-cycles-'));
try {
  const out = path.join(dir, 'dpdm.json');
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/dpdm/lib/bin/dpdm.js'),
      '--no-warning',
      '--no-tree',
      '--no-progress',
      '--exclude',
      '(node_modules|/dist/)',
      '--output',
      out,
      'packages/*/src/**/*.ts',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const found = JSON.parse(readFileSync(out, 'utf8')).circulars.map((c) => c.join(' -> '));
  const known = KNOWN_CYCLES.map((c) => c.join(' -> '));
  const fresh = found.filter((c) => !known.includes(c));
  const gone = known.filter((c) => !found.includes(c));
  for (const c of fresh) console.error(`import cycle: ${c}`);
  for (const c of gone) console.error(`known cycle gone, remove it from KNOWN_CYCLES: ${c}`);
  if (fresh.length > 0 || gone.length > 0) process.exit(1);
  console.log(
    `no import cycle in packages/*/src${known.length > 0 ? ` beyond ${known.length} known` : ''}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
