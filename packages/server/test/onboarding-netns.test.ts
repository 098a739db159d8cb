import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredServer } from '../src/discovery/index.js';

/*
 * A phone on the LAN, for real: the server runs (bound to 0.0.0.0, mDNS on, as `imv serve` does)
 * in network namespace A, and the "phone" is namespace B on the other end of a veth pair, so its
 * requests come from 10.78.0.2 to 10.78.0.1 like any LAN client's. Needs root / CAP_NET_ADMIN.
 */

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const serverModule = pathToFileURL(path.resolve(here, '../src/index.ts')).href;
const discoveryModule = pathToFileURL(path.resolve(here, '../src/discovery/index.ts')).href;

const suffix = String(process.pid);
const NS_SERVER = `imv-oa-${suffix}`;
const NS_PHONE = `imv-ob-${suffix}`;
const IF_SERVER = `imvoa${suffix}`;
const IF_PHONE = `imvob${suffix}`;
const SERVER_ADDRESS = '10.78.0.1';
const PHONE_ADDRESS = '10.78.0.2';

interface Started {
  port: number;
  httpsPort: number;
  httpsUrls: string[];
  fingerprintSha256: string;
  caFingerprintSha256: string;
  caCertPem: string;
}

let workDir: string;
let child: ChildProcessWithoutNullStreams | undefined;
let started: Started;
let caFile: string;

interface Fetched {
  status: number;
  type: string | null;
  text: string;
}

/** fetch() run by Node inside the phone's namespace; the CA file is its only extra trust. */
async function phoneFetch(url: string, trustCa = false): Promise<Fetched> {
  const script = `const r = await fetch(process.argv[1]);
process.stdout.write(JSON.stringify({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }));`;
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', NS_PHONE, process.execPath, '--input-type=module', '-e', script, url],
    { env: { ...process.env, ...(trustCa && { NODE_EXTRA_CA_CERTS: caFile }) } },
  );
  return JSON.parse(stdout) as Fetched;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function createNamespaces(): Promise<void> {
  try {
    await ip('netns', 'add', NS_SERVER);
    await ip('netns', 'add', NS_PHONE);
  } catch (err) {
    throw new Error(
      `cannot create network namespaces (${String(err)}): this test needs root or CAP_NET_ADMIN and iproute2`,
      { cause: err },
    );
  }
  await ip('link', 'add', IF_SERVER, 'type', 'veth', 'peer', 'name', IF_PHONE);
  for (const [ns, iface, address] of [
    [NS_SERVER, IF_SERVER, SERVER_ADDRESS],
    [NS_PHONE, IF_PHONE, PHONE_ADDRESS],
  ] as const) {
    await ip('link', 'set', iface, 'netns', ns);
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface);
    await ip('-n', ns, 'link', 'set', iface, 'up', 'multicast', 'on');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    // As on a home LAN with a router: mDNS (224.0.0.251) leaves by the default route.
    await ip('-n', ns, 'route', 'add', 'default', 'dev', iface);
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-onboarding-'));
  const webRoot = path.join(workDir, 'web');
  await run('mkdir', ['-p', webRoot]);
  await writeFile(
    path.join(webRoot, 'index.html'),
    '<!doctype html><title>imv app</title><p>the web client</p>',
  );
  await writeFile(
    path.join(workDir, 'serve.mts'),
    `import { startServer } from ${JSON.stringify(serverModule)};
const s = await startServer({ host: '0.0.0.0', port: 0, httpsPort: 0, dataDir: process.argv[2], webRoot: process.argv[3], logLevel: 'silent', storeInWorker: false });
console.log(JSON.stringify({ port: s.port, httpsPort: s.httpsPort, httpsUrls: s.httpsUrls, fingerprintSha256: s.fingerprintSha256, caFingerprintSha256: s.caFingerprintSha256, caCertPem: s.caCertPem }));
process.stdin.resume();
process.stdin.on('end', async () => { await s.close(); process.exit(0); });
`,
  );
  await writeFile(
    path.join(workDir, 'discover.mts'),
    `import { discover } from ${JSON.stringify(discoveryModule)};
process.stdout.write(JSON.stringify(await discover({ timeoutMs: Number(process.argv[2]) })));
`,
  );
  await createNamespaces();
  child = spawn('ip', [
    'netns',
    'exec',
    NS_SERVER,
    tsx,
    path.join(workDir, 'serve.mts'),
    path.join(workDir, 'data'),
    webRoot,
  ]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new Error(`the server exited: ${stderr}`);
  started = JSON.parse(first.value) as Started;
  caFile = path.join(workDir, 'imv-ca.pem');
  await writeFile(caFile, started.caCertPem);
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.stdin.end();
    await once(child, 'exit');
  }
  for (const ns of [NS_SERVER, NS_PHONE]) {
    await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  }
  await rm(workDir, { recursive: true, force: true });
});

describe('a phone on the LAN', () => {
  it('gets the onboarding page, not the app, on plain http', async () => {
    const page = await phoneFetch(`http://${SERVER_ADDRESS}:${started.port}/`);
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.text).not.toContain('the web client');
    expect(page.text).toContain('<h1>Open imv over https</h1>');
    // The https link keeps the address the phone used.
    expect(page.text).toContain(
      `<a class="open" href="https://${SERVER_ADDRESS}:${started.httpsPort}/">`,
    );
    expect(page.text).toContain('<a href="/ca.crt">');
    expect(page.text).toContain('<a href="/ca.mobileconfig">');
    expect(page.text).toContain(`<code>${started.caFingerprintSha256}</code>`);
    expect(page.text).toContain(`<code>${started.fingerprintSha256}</code>`);
    // No inline script or style: the page works under the strict CSP.
    expect(page.text).not.toMatch(/<script|<style|style=/);
    // /duo, /index.html and assets are pages of the app too.
    const duo = await phoneFetch(`http://${SERVER_ADDRESS}:${started.port}/index.html`);
    expect(duo.text).toContain('<h1>Open imv over https</h1>');
  });

  it('still reaches the API, the CA download and the page style on plain http', async () => {
    const health = await phoneFetch(`http://${SERVER_ADDRESS}:${started.port}/api/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ ok: true });
    const ca = await phoneFetch(`http://${SERVER_ADDRESS}:${started.port}/ca.crt`);
    expect(ca.status).toBe(200);
    expect(ca.type).toBe('application/x-x509-ca-cert');
    const css = await phoneFetch(`http://${SERVER_ADDRESS}:${started.port}/onboarding.css`);
    expect(css.type).toBe('text/css; charset=utf-8');
  });

  it('gets the app over https once it trusts the CA', async () => {
    expect(started.httpsUrls).toContain(`https://${SERVER_ADDRESS}:${started.httpsPort}`);
    const page = await phoneFetch(`https://${SERVER_ADDRESS}:${started.httpsPort}/`, true);
    expect(page.status).toBe(200);
    expect(page.text).toContain('the web client');
  });

  it('finds the server with mDNS, with its https port and certificate fingerprint', async () => {
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      NS_PHONE,
      tsx,
      path.join(workDir, 'discover.mts'),
      '1500',
    ]);
    const found = JSON.parse(stdout) as DiscoveredServer[];
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      port: started.port,
      httpsPort: started.httpsPort,
      fingerprint: started.fingerprintSha256,
      protocol: 1,
      url: `https://${SERVER_ADDRESS}:${started.httpsPort}/`,
    });
  });
});

describe('this machine itself', () => {
  it('gets the app on http://127.0.0.1 as before', async () => {
    const script = `const r = await fetch(process.argv[1]); process.stdout.write(await r.text());`;
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      NS_SERVER,
      process.execPath,
      '--input-type=module',
      '-e',
      script,
      `http://127.0.0.1:${started.port}/`,
    ]);
    expect(stdout).toContain('the web client');
  });
});
