import jsQRModule from 'jsqr';

/* The QR text a terminal shows, read back into modules and decoded with jsQR (used by tls-qr.test.ts and the banner tests). */

// jsqr is a UMD bundle whose module.exports is the function; its d.ts says `export default`.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;
const MODULE_PX = 4;

/** Decodes a grid of modules (true = dark) with jsQR; adds a light quiet zone around it. */
export function decodeGrid(grid: boolean[][]): string | undefined {
  const quiet = 4;
  const size = grid.length + 2 * quiet;
  const width = size * MODULE_PX;
  const rgba = new Uint8ClampedArray(width * width * 4).fill(255);
  grid.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < MODULE_PX; dy++) {
        for (let dx = 0; dx < MODULE_PX; dx++) {
          const i = (((y + quiet) * MODULE_PX + dy) * width + (x + quiet) * MODULE_PX + dx) * 4;
          rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
        }
      }
    }),
  );
  return jsQR(rgba, width, width)?.data;
}

/** Half-block text back to modules; the glyph set depends on the terminal background. */
export function gridFromTerminal(text: string, darkBackground: boolean): boolean[][] {
  // [top dark, bottom dark] per glyph, for each of qrcode's two block sets.
  const glyphs: Record<string, [boolean, boolean]> = darkBackground
    ? { ' ': [true, true], '▄': [true, false], '▀': [false, true], '█': [false, false] }
    : { '█': [true, true], '▀': [true, false], '▄': [false, true], ' ': [false, false] };
  const grid: boolean[][] = [];
  for (const line of text.split('\n')) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const ch of line) {
      const cell = glyphs[ch];
      if (cell === undefined) throw new Error(`unexpected glyph ${JSON.stringify(ch)}`);
      top.push(cell[0]);
      bottom.push(cell[1]);
    }
    grid.push(top, bottom);
  }
  return grid;
}
