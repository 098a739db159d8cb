import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as wire from '../src/wire.js';
import * as root from '../src/index.js';

const srcDir = path.join(import.meta.dirname, '../src');

/** Every module specifier reachable from `file` through relative imports and re-exports. */
function reachableImports(file: string, seen = new Set<string>()): Set<string> {
  const specifiers = new Set<string>();
  if (seen.has(file)) return specifiers;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
    const specifier = match[1]!;
    specifiers.add(specifier);
    if (specifier.startsWith('.')) {
      const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts'));
      for (const s of reachableImports(target, seen)) specifiers.add(s);
    }
  }
  return specifiers;
}

describe('@imv/protocol/wire', () => {
  it('reaches no zod and no control-message schema', () => {
    const specifiers = [...reachableImports(path.join(srcDir, 'wire.ts'))];
    expect(specifiers).not.toContain('zod');
    expect(specifiers.filter((s) => /messages|parse/.test(s))).toEqual([]);
  });

  it('exports the frame layout and audio format of the package root', () => {
    expect(wire.FRAME_SAMPLES).toBe(960);
    expect(wire.SAMPLE_RATE_HZ).toBe(root.SAMPLE_RATE_HZ);
    expect(wire.FRAME_HEADER_LEN).toBe(root.FRAME_HEADER_LEN);
    expect(wire.decodeFrame).toBe(root.decodeFrame);
    expect(wire.sealFrame).toBe(root.sealFrame);
  });
});
