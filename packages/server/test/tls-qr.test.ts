import { describe, expect, it } from 'vitest';
import { qrToSvg, qrToTerminal } from '../src/tls/index.js';
import { decodeGrid, gridFromTerminal } from './helpers/qr-decode.js';

/*
 * Each rendering is read back into a module grid, drawn as pixels and decoded with jsQR: this
 * proves the text a phone camera would see carries the URL, not only that something was printed.
 */

/** qrcode's SVG draws each run of dark modules as a horizontal stroke: M x y / m dx 0 / h n. */
function gridFromSvg(svg: string): boolean[][] {
  const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const d = /<path stroke="#000000" d="([^"]+)"/.exec(svg)?.[1] ?? '';
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  for (const [, cmd, a, b] of d.matchAll(/([Mmh])([\d.]+)(?: ([\d.]+))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Math.floor(Number(b))];
    else if (cmd === 'm') x += Number(a);
    else for (let i = 0; i < Number(a); i++) grid[y]![x++] = true;
  }
  return grid;
}

const URL_A = 'https://192.168.1.20:8443/?room=kitchen';
const URL_B = 'https://kitchen-pc.local:8443/ca.mobileconfig';

describe('qrToTerminal', () => {
  it('prints half blocks that decode back to the URL on a dark terminal', async () => {
    const text = await qrToTerminal(URL_A);
    expect(text.length).toBeGreaterThan(0);
    // Two modules per character cell: a version-3 code (29 modules) + 2 quiet modules each side.
    expect(text.split('\n').length).toBeLessThanOrEqual(20);
    expect(decodeGrid(gridFromTerminal(text, true))).toBe(URL_A);
  });

  it('prints the other block set for a light terminal, which also decodes', async () => {
    const text = await qrToTerminal(URL_B, { darkBackground: false });
    expect(decodeGrid(gridFromTerminal(text, false))).toBe(URL_B);
  });
});

describe('qrToSvg', () => {
  it('returns an SVG document that decodes back to the URL', async () => {
    const svg = await qrToSvg(URL_A);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(decodeGrid(gridFromSvg(svg))).toBe(URL_A);
  });

  it('draws different codes for different URLs', async () => {
    const [a, b] = await Promise.all([qrToSvg(URL_A), qrToSvg(URL_B)]);
    expect(a).not.toBe(b);
    expect(decodeGrid(gridFromSvg(b))).toBe(URL_B);
  });
});
