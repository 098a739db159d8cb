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

/** The QR code of `url` as UTF-8 half blocks (two modules per character cell), for a terminal. */
export async function qrToTerminal(url: string, options: TerminalQrOptions = {}): Promise<string> {
  const darkBackground = options.darkBackground ?? true;
  return QRCode.toString(url, {
    type: 'utf8',
    errorCorrectionLevel: 'M',
    // Quiet zone of 2 modules: even, because the renderer prints margin / 2 text lines.
    margin: 2,
    // qrcode's utf8 renderer swaps to its inverted block set when dark is white.
    color: darkBackground
      ? { dark: '#ffffff', light: '#000000' }
      : { dark: '#000000', light: '#ffffff' },
  });
}

/** The QR code of `url` as a standalone SVG document (scales to any size, for the web page). */
export async function qrToSvg(url: string): Promise<string> {
  return QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}
