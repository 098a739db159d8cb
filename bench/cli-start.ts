/*
 * Command-line start-up benchmark: wall time (median of 5) of `node -e 0`, `imv --version` and
 * `imv send <1 s WAV> --fast` to a real imv server on a free port, each as a ratio to `node -e 0`,
 * in one run. The commands take turns, so a busy moment on a shared machine slows all three
 * alike; the CPU time of each finished command (from /proc/self/stat) is printed beside it.
 * Run: npm run bench:cli  (builds the compiled `imv` first, as users run it)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWav } from '@imv/media';
import { fixturePath } from '@imv/test-support';
import { exitedChildrenCpuMs, forkTs, loadAverage, nextMessage } from './bench-process.js';

const RUNS = 5;
const SEND_SECONDS = 1;
const imvBin = fileURLToPath(new URL('../packages/cli/bin/imv.js', import.meta.url));

/** 16-bit PCM mono WAV bytes of `samples` (float, -1..1) at `sampleRate`. */
function wav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  samples.forEach((s, i) =>
    view.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, s)) * 32767), true),
  );
  return bytes;
}

/** Runs a command to its end; its wall time and CPU time in ms. */
async function timed(argv: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  const cpuBefore = exitedChildrenCpuMs();
  const start = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  const wallMs = performance.now() - start;
  if (code !== 0) throw new Error(`node ${argv.join(' ')} exited with ${code}`);
  return { wallMs, cpuMs: exitedChildrenCpuMs() - cpuBefore };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const dir = mkdtempSync(join(tmpdir(), 'imv-bench-cli-'));
const speech = readWav(readFileSync(fixturePath('speech-en-48k.wav')));
const wavPath = join(dir, 'one-second.wav');
writeFileSync(
  wavPath,
  wav16(speech.samples.subarray(0, speech.sampleRate * SEND_SECONDS), speech.sampleRate),
);

const server = forkTs('./fanout-server.ts', ['imv']);
const { port } = await nextMessage<{ type: string; port: number }>(server, 'ready');
const serverUrl = `http://127.0.0.1:${port}`;

const commands: { label: string; argv: string[] }[] = [
  { label: '`node -e 0`', argv: ['-e', '0'] },
  { label: '`imv --version`', argv: [imvBin, '--version'] },
  {
    label: `\`imv send\` ${SEND_SECONDS} s WAV \`--fast\``,
    argv: [imvBin, 'send', wavPath, '--room', 'bench', '--fast', '--server', serverUrl],
  },
];

const startLoad = loadAverage();
const results = commands.map(() => ({ wallMs: [] as number[], cpuMs: [] as number[] }));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const [i, command] of commands.entries()) {
      const { wallMs, cpuMs } = await timed(command.argv);
      results[i]!.wallMs.push(wallMs);
      results[i]!.cpuMs.push(cpuMs);
    }
  }
} finally {
  server.send('close');
  await once(server, 'exit');
  rmSync(dir, { recursive: true, force: true });
}

const baseWallMs = median(results[0]!.wallMs);
const baseCpuMs = median(results[0]!.cpuMs);
console.log(
  `CLI start-up: median of ${RUNS} runs each, taking turns, server on 127.0.0.1, ${new Date().toISOString()}`,
);
console.log(`Load average (1, 5, 15 min): ${startLoad} at start, ${loadAverage()} at end\n`);
console.log('| command | wall ms | × `node -e 0` | CPU ms | × `node -e 0` |');
console.log('|---|---:|---:|---:|---:|');
for (const [i, command] of commands.entries()) {
  const wallMs = median(results[i]!.wallMs);
  const cpuMs = median(results[i]!.cpuMs);
  console.log(
    `| ${command.label} | ${wallMs.toFixed(0)} | ${(wallMs / baseWallMs).toFixed(2)}x | ${cpuMs.toFixed(0)} | ${(cpuMs / baseCpuMs).toFixed(2)}x |`,
  );
}
