import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  buildWeb,
  fixturePath,
  homeTrustingCa,
  launchChromium,
  piecewiseCorrelation,
  readFixture,
  repoRoot,
  type WebBuild,
} from './helpers.js';
import {
  enableSound,
  holdTalkByTouch,
  installTap,
  readTap,
  startTap,
  waitAudioSeconds,
  screenshotDir,
} from './ui-support.js';

/*
 * A phone on the LAN, for real: the server (bound to 0.0.0.0, as `imv serve` is) runs in network
 * namespace A; Chromium runs in namespace B at the other end of a veth pair, so its requests come
 * from 10.79.0.2 to 10.79.0.1 like any LAN client's (recipe of packages/server/test/onboarding-netns.test.ts).
 * Chromium trusts the server's CA through an NSS database, as a phone that installed the CA does.
 * Needs root / CAP_NET_ADMIN and iproute2.
 */

const run = promisify(execFile);
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const serverModule = pathToFileURL(path.resolve(repoRoot, 'packages/server/src/index.ts')).href;
const suffix = String(process.pid);
const NS_SERVER = `imv-wa-${suffix}`;
const NS_PHONE = `imv-wb-${suffix}`;
const IF_SERVER = `imvwa${suffix}`;
const IF_PHONE = `imvwb${suffix}`;
const SERVER_ADDRESS = '10.79.0.1';
const PHONE_ADDRESS = '10.79.0.2';
const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

interface Started {
  port: number;
  httpsPort: number;
  httpsUrls: string[];
  caCertPem: string;
}

let web: WebBuild;
let workDir: string;
let child: ChildProcessWithoutNullStreams | undefined;
let started: Started;
let browser: Browser;
let namespaces = false;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-phone-lan-'));
  await writeFile(
    path.join(workDir, 'serve.mts'),
    `import { startServer } from ${JSON.stringify(serverModule)};
const s = await startServer({ host: '0.0.0.0', port: 0, httpsPort: 0, dataDir: process.argv[2], webRoot: process.argv[3], logLevel: 'silent' });
console.log(JSON.stringify({ port: s.port, httpsPort: s.httpsPort, httpsUrls: s.httpsUrls, caCertPem: s.caCertPem }));
process.stdin.resume();
process.stdin.on('end', async () => { await s.close(); process.exit(0); });
`,
  );
  try {
    await ip('netns', 'add', NS_SERVER);
    await ip('netns', 'add', NS_PHONE);
  } catch (err) {
    throw new Error(
      `cannot create network namespaces (${String(err)}): this test needs root or CAP_NET_ADMIN and iproute2`,
      {
        cause: err,
      },
    );
  }
  namespaces = true;
  await ip('link', 'add', IF_SERVER, 'type', 'veth', 'peer', 'name', IF_PHONE);
  for (const [ns, iface, address] of [
    [NS_SERVER, IF_SERVER, SERVER_ADDRESS],
    [NS_PHONE, IF_PHONE, PHONE_ADDRESS],
  ] as const) {
    await ip('link', 'set', iface, 'netns', ns);
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', iface);
    await ip('-n', ns, 'link', 'set', iface, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  child = spawn('ip', [
    'netns',
    'exec',
    NS_SERVER,
    tsx,
    path.join(workDir, 'serve.mts'),
    path.join(workDir, 'data'),
    web.distDir,
  ]);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  if (first.done === true) throw new Error(`the server exited: ${stderr}`);
  started = JSON.parse(first.value) as Started;

  // The phone's browser: Chromium inside namespace B, trusting the server's CA (NSS database in HOME).
  const home = await homeTrustingCa(workDir, started.caCertPem);
  const wrapper = path.join(workDir, 'chromium-in-netns.sh');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${NS_PHONE} /usr/bin/chromium "$@"\n`);
  await chmod(wrapper, 0o755);
  browser = await launchChromium({
    fakeMic: fixturePath('speech-en-48k.wav'),
    home,
    executablePath: wrapper,
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.stdin.end();
    await once(child, 'exit');
  }
  if (namespaces) {
    await ip('netns', 'delete', NS_SERVER).catch(() => undefined);
    await ip('netns', 'delete', NS_PHONE).catch(() => undefined);
  }
  await web?.cleanup();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function newPage(options: Parameters<Browser['newContext']>[0]): Promise<Page> {
  const context = await browser.newContext(options);
  onTestFinished(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  return page;
}

describe('a phone on the LAN', () => {
  it(
    'gets the onboarding page on plain http, then talks over the https invite link to another LAN page',
    { retry: 1 },
    async () => {
      const lanHttps = `https://${SERVER_ADDRESS}:${started.httpsPort}`;
      expect(started.httpsUrls).toContain(lanHttps);
      const room = `lan-${Date.now().toString(36)}`;

      // Plain http from the LAN: the onboarding page, pointing at this server's https address.
      const phone = await newPage(PHONE);
      await phone.goto(`http://${SERVER_ADDRESS}:${started.port}/`);
      expect(await phone.locator('#app').count()).toBe(0);
      expect(await phone.getByRole('link', { name: `${lanHttps}/` }).count()).toBeGreaterThan(0);
      await mkdir(screenshotDir, { recursive: true });
      await phone.screenshot({
        path: path.join(screenshotDir, 'onboarding-phone.png'),
        fullPage: true,
      });

      // A member already in the room (another LAN device) invites the phone.
      const desk = await newPage({ viewport: { width: 800, height: 700 } });
      await desk.goto(`${lanHttps}/?room=${room}&name=Desk&mic=raw`);
      await desk.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
        timeout: 20_000,
      });
      await enableSound(desk);
      await startTap(desk);
      await desk.getByRole('button', { name: `Invite others to #${room}` }).click();
      const invite = (await desk.locator('#invite-link').textContent())!;
      expect(invite).toBe(`${lanHttps}/?room=${room}`);
      await desk.keyboard.press('Escape');

      // The phone opens the invite (plus the tests' raw microphone), picks a name, holds the button.
      const link = new URL(invite);
      link.searchParams.set('mic', 'raw');
      await phone.goto(link.href);
      await phone.getByLabel('Your name').fill('Pho');
      await phone.getByRole('button', { name: 'Join' }).click();
      await phone.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
        timeout: 20_000,
      });
      await holdTalkByTouch(phone, 4);

      await desk.locator('.msg').first().waitFor({ timeout: 15_000 });
      await waitAudioSeconds(desk, 0.5);
      const said = (await readFixture('speech-en-48k.wav')).subarray(0, 3 * 48_000);
      expect(piecewiseCorrelation(said, await readTap(desk)).correlation).toBeGreaterThanOrEqual(
        0.8,
      );
    },
  );
});
