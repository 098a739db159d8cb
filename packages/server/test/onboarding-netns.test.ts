import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredServer } from '../src/discovery/index.js';
import { PROTOCOL_VERSION } from '@imv/protocol';
import { tsxCommand } from '@imv/test-support';
import { createNamespacePair, execIn } from '@imv/test-support/netns';
import type { NamespacePair } from '@imv/test-support/netns';
import { startServerInNamespace } from '@imv/test-support/netns-server';
import type { NamespacedServer, NamespacedServerInfo } from '@imv/test-support/netns-server';

/*
 * A phone on the LAN, for real: the server runs (bound to 0.0.0.0, mDNS on, as `imv serve` does)
 * in network namespace A, and the "phone" is namespace B on the other end of a veth pair, so its
 * requests come from 10.78.0.2 to 10.78.0.1 like any LAN client's. Needs root / CAP_NET_ADMIN.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const discoveryModule = pathToFileURL(path.resolve(here, '../src/discovery/index.ts')).href;

const SERVER_ADDRESS = '10.78.0.1';

let workDir: string;
let link: NamespacePair | undefined;
let served: NamespacedServer | undefined;
let started: NamespacedServerInfo;
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
  const { stdout } = await execIn(
    link!.b.ns,
    [process.execPath, '--input-type=module', '-e', script, url],
    { env: { ...process.env, ...(trustCa && { NODE_EXTRA_CA_CERTS: caFile }) } },
  );
  return JSON.parse(stdout) as Fetched;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-onboarding-'));
  const webRoot = path.join(workDir, 'web');
  await mkdir(webRoot, { recursive: true });
  await writeFile(
    path.join(webRoot, 'index.html'),
    '<!doctype html><title>imv app</title><p>the web client</p>',
  );
  await writeFile(
    path.join(workDir, 'discover.mts'),
    `import { discover } from ${JSON.stringify(discoveryModule)};
process.stdout.write(JSON.stringify(await discover({ timeoutMs: Number(process.argv[2]) })));
`,
  );
  link = await createNamespacePair({ tag: 'o', subnet: '10.78.0' });
  served = await startServerInNamespace(link.a.ns, workDir, {
    dataDir: path.join(workDir, 'data'),
    webRoot,
    storeInWorker: false,
  });
  started = served.info;
  caFile = path.join(workDir, 'imv-ca.pem');
  await writeFile(caFile, started.caCertPem);
});

afterAll(async () => {
  await served?.stop();
  await link?.remove();
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
    const { stdout } = await execIn(link!.b.ns, [
      ...tsxCommand,
      path.join(workDir, 'discover.mts'),
      '1500',
    ]);
    const found = JSON.parse(stdout) as DiscoveredServer[];
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      port: started.port,
      httpsPort: started.httpsPort,
      fingerprint: started.fingerprintSha256,
      protocol: PROTOCOL_VERSION,
      url: `https://${SERVER_ADDRESS}:${started.httpsPort}/`,
    });
  });
});

describe('this machine itself', () => {
  it('gets the app on http://127.0.0.1 as before', async () => {
    const script = `const r = await fetch(process.argv[1]); process.stdout.write(await r.text());`;
    const { stdout } = await execIn(link!.a.ns, [
      process.execPath,
      '--input-type=module',
      '-e',
      script,
      `http://127.0.0.1:${started.port}/`,
    ]);
    expect(stdout).toContain('the web client');
  });
});
