import QRCode from 'qrcode';

/*
 * QR codes that carry the server's https URL (and the CA download link) to a phone's camera.
 * Error correction 'M' (15 %) survives a glare spot on a laptop screen and keeps the code small.
 */

export interface TerminalQrOptions {
  /**
   * The terminal draws light text on a dark background (most do). The code is then drawn with
   * full blocks for the light modules so that it reads as dark-on-light, as scanners expect.
   * Default true.
   */
  darkBackground?: boolean;
}

/** Quiet zone around the terminal code, in modules (ISO/IEC 18004 asks for 4; 2 scans fine on a screen). */
const TERMINAL_MARGIN_MODULES = 2;

/**
 * The QR code of `url` as UTF-8 half blocks (two modules per character cell), for a terminal.
 * Synchronous, so a startup banner can print it in order with the lines around it.
 */
export function qrToTerminalSync(url: string, options: TerminalQrOptions = {}): string {
  const darkBackground = options.darkBackground ?? true;
  const { modules } = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const size = modules.size + 2 * TERMINAL_MARGIN_MODULES;
  const dark = (row: number, col: number): boolean => {
    const r = row - TERMINAL_MARGIN_MODULES;
    const c = col - TERMINAL_MARGIN_MODULES;
    return r >= 0 && c >= 0 && r < modules.size && c < modules.size && modules.get(r, c) === 1;
  };
  // Glyph per [top dark, bottom dark]. On a dark terminal the light modules are the drawn ones.
  const glyph = darkBackground
    ? ['\u2588', '\u2584', '\u2580', ' '] // light-light, dark-light, light-dark, dark-dark
    : [' ', '\u2580', '\u2584', '\u2588'];
  const lines: string[] = [];
  for (let row = 0; row < size; row += 2) {
    let line = '';
    for (let col = 0; col < size; col++) {
      line += glyph[(dark(row, col) ? 1 : 0) + (dark(row + 1, col) ? 2 : 0)];
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** The QR code of `url` as UTF-8 half blocks (two modules per character cell), for a terminal. */
export function qrToTerminal(url: string, options: TerminalQrOptions = {}): Promise<string> {
  return Promise.resolve(qrToTerminalSync(url, options));
}

/** The QR code of `url` as a standalone SVG document (scales to any size, for the web page). */
export async function qrToSvg(url: string): Promise<string> {
  return QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}
