import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { spawnIn } from './netns.js';
import { repoRoot, tsxCommand } from './repo.js';

/** What the server in a namespace reports once it listens. */
export interface NamespacedServerInfo {
  port: number;
  httpsPort: number;
  httpsUrls: string[];
  fingerprintSha256: string;
  caFingerprintSha256: string;
  caCertPem: string;
}

export interface NamespacedServer {
  info: NamespacedServerInfo;
  child: ChildProcessWithoutNullStreams;
  /** Closes the server (end of stdin) and waits for the process to exit. */
  stop(): Promise<void>;
}

const serverModule = pathToFileURL(path.join(repoRoot, 'packages/server/src/index.ts')).href;

/**
 * Runs the real server (from source, through tsx) inside namespace `ns`, bound to 0.0.0.0 with
 * http and https on free ports, as `imv serve` is on a LAN host. `options` go to startServer as
 * JSON (e.g. `{ storeInWorker: false }`); the script is written into `workDir`.
 */
export async function startServerInNamespace(
  ns: string,
  workDir: string,
  options: { dataDir: string; webRoot: string } & Record<string, unknown>,
): Promise<NamespacedServer> {
  const script = path.join(workDir, 'serve-in-namespace.mts');
  await writeFile(
    script,
    `import { startServer } from ${JSON.stringify(serverModule)};
const s = await startServer({ host: '0.0.0.0', port: 0, httpsPort: 0, logLevel: 'silent', ...JSON.parse(process.argv[2]) });
console.log(JSON.stringify({ port: s.port, httpsPort: s.httpsPort, httpsUrls: s.httpsUrls, fingerprintSha256: s.fingerprintSha256, caFingerprintSha256: s.caFingerprintSha256, caCertPem: s.caCertPem }));
process.stdin.resume();
process.stdin.on('end', async () => { await s.close(); process.exit(0); });
`,
  );
  const child = spawnIn(ns, [...tsxCommand, script, JSON.stringify(options)]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  if (first.done === true) throw new Error(`the server exited: ${stderr}`);
  return {
    info: JSON.parse(first.value) as NamespacedServerInfo,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        await once(child, 'exit');
      }
    },
  };
}
