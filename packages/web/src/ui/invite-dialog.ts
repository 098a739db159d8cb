import QRCode from 'qrcode';
import { h } from './dom.js';
import { roomInviteUrl, type FragmentSecrets } from './settings.js';

/** What GET /api/onboarding answers (packages/server README); only the fields the page uses. */
interface OnboardingInfo {
  httpsUrls: string[];
  fingerprintSha256: string;
}

async function onboardingInfo(): Promise<OnboardingInfo | undefined> {
  try {
    const res = await fetch('/api/onboarding');
    if (!res.ok) return undefined;
    const info = (await res.json()) as Partial<OnboardingInfo>;
    if (!Array.isArray(info.httpsUrls) || typeof info.fingerprintSha256 !== 'string')
      return undefined;
    return { httpsUrls: info.httpsUrls, fingerprintSha256: info.fingerprintSha256 };
  } catch {
    return undefined;
  }
}

/**
 * The Invite dialog: a QR code of this room's https link (phones scan it), the link with a copy
 * button, and the server certificate's fingerprint so people can check they reached this server.
 * The server's own /api/onboarding/qr.svg only encodes its bare https URLs (no ?room=, no #key=),
 * so the code is drawn here with the `qrcode` package. A native <dialog> traps focus and closes on Escape.
 */
export async function openInviteDialog(options: {
  room: string;
  secrets: Partial<FragmentSecrets>;
  onCopied: (url: string) => void;
}): Promise<HTMLDialogElement> {
  const { room, secrets } = options;
  const info = await onboardingInfo();
  // On plain http the phone must come in over https: the server's first https URL (LAN address first).
  const origin =
    location.protocol === 'https:' ? location.origin : (info?.httpsUrls[0] ?? location.origin);

  const qr = h('img', {
    class: 'qr',
    alt: `QR code of the invite link to #${room}`,
    width: 240,
    height: 240,
  });
  const link = h('a', {
    class: 'invite-link',
    id: 'invite-link',
    target: '_blank',
    rel: 'noopener',
  });
  const copied = h('span', { class: 'copied', role: 'status' });
  const copy = h('button', { class: 'primary', type: 'button', text: 'Copy link' });
  const includePass = h('input', { type: 'checkbox', id: 'invite-include-e2e' });
  const passRow = secrets.passphrase
    ? h(
        'p',
        { class: 'check' },
        includePass,
        h('label', { for: 'invite-include-e2e', text: ' Include passphrase in link' }),
        h('span', { class: 'help', text: ' Anyone with the link can then hear the room.' }),
      )
    : null;
  const fingerprint = info
    ? h(
        'div',
        { class: 'fingerprint' },
        h('p', {
          text: 'Server certificate fingerprint (SHA-256). Check it matches what your browser shows for this site:',
        }),
        h('code', { id: 'invite-fingerprint', text: info.fingerprintSha256 }),
      )
    : h('p', { class: 'help', text: 'This server has no HTTPS certificate to show.' });
  const close = h('button', { class: 'ghost', type: 'button', text: 'Close' });
  const dialog = h(
    'dialog',
    { class: 'invite', 'aria-labelledby': 'invite-title' },
    h('h2', { id: 'invite-title', text: `Invite to #${room}` }),
    h('p', { class: 'help', text: 'Scan with a phone camera, or send the link.' }),
    qr,
    link,
    h('p', { class: 'actions' }, copy, copied),
    passRow,
    fingerprint,
    h('p', { class: 'actions end' }, close),
  );

  let url = '';
  const render = async () => {
    url = roomInviteUrl(origin, room, {
      key: secrets.key,
      ...(includePass.checked ? { passphrase: secrets.passphrase } : {}),
    });
    link.href = url;
    link.textContent = url;
    copied.textContent = '';
    const svg = await QRCode.toString(url, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  };
  includePass.addEventListener('change', () => void render());
  copy.addEventListener('click', () => {
    void navigator.clipboard.writeText(url).then(
      () => {
        copied.textContent = 'Copied';
        options.onCopied(url);
      },
      () => {
        copied.textContent = 'Copying is blocked here: select the link and copy it by hand.';
      },
    );
  });
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  await render();
  document.body.append(dialog);
  dialog.showModal();
  copy.focus();
  return dialog;
}
