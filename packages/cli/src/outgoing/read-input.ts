import { readFile } from 'node:fs/promises';
import { CliError } from '../cli-error.js';

/**
 * A plain Uint8Array view of a Buffer. Buffer#slice returns a view rather than a copy, so code
 * written for Uint8Array (which copies on slice) could otherwise write into the caller's bytes.
 */
function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Reads a whole file, or all of stdin for "-"; errors name the file and say what went wrong. */
export async function readInput(file: string): Promise<Uint8Array> {
  if (file === '-') {
    if (process.stdin.isTTY)
      throw new CliError('cannot read stdin: it is a terminal; pipe audio in or give a file');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return plainBytes(Buffer.concat(chunks));
  }
  try {
    return plainBytes(await readFile(file));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
}
