import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  buildWeb,
  fixturePath,
  homeTrustingCa,
  launchChromium,
  piecewiseCorrelation,
  readFixture,
  type WebBuild,
} from './helpers.js';
import { createNamespacePair } from '@imv/test-support/netns';
import type { NamespacePair } from '@imv/test-support/netns';
import { startServerInNamespace } from '@imv/test-support/netns-server';
import type { NamespacedServer, NamespacedServerInfo } from '@imv/test-support/netns-server';
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

const SERVER_ADDRESS = '10.79.0.1';
const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

let web: WebBuild;
let workDir: string;
let link: NamespacePair | undefined;
let served: NamespacedServer | undefined;
let started: NamespacedServerInfo;
let browser: Browser;

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-phone-lan-'));
  link = await createNamespacePair({ tag: 'w', subnet: '10.79.0', lan: false });
  served = await startServerInNamespace(link.a.ns, workDir, {
    dataDir: path.join(workDir, 'data'),
    webRoot: web.distDir,
  });
  started = served.info;

  // The phone's browser: Chromium inside namespace B, trusting the server's CA (NSS database in HOME).
  const home = await homeTrustingCa(workDir, started.caCertPem);
  const wrapper = path.join(workDir, 'chromium-in-netns.sh');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${link.b.ns} /usr/bin/chromium "$@"\n`);
  await chmod(wrapper, 0o755);
  browser = await launchChromium({
    fakeMic: fixturePath('speech-en-48k.wav'),
    home,
    executablePath: wrapper,
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  await link?.remove();
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
