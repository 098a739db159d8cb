/*
 * The audio doctor's fixes: concrete steps for the usual causes of bad or missing sound on a phone
 * or laptop. Each fix is marked likely when what the test measured (or the way it failed) points
 * at it; the others stay listed below as things to check.
 */
import type { MicProblem } from '../voice-client-api.js';

export type FixId =
  'permission' | 'bluetooth' | 'silent-switch' | 'mic-busy' | 'quiet-mic' | 'network';

export interface Fix {
  id: FixId;
  title: string;
  text: string;
}

/** What the advice is based on: the test's figures, or the way it failed. */
export interface Findings {
  micProblem?: MicProblem;
  micSampleRateHz?: number | undefined;
  micLabel?: string;
  inputLevelDb?: number;
  lossPercent?: number;
  jitterMs?: number;
  networkRttMs?: number;
}

/** Below this the test sound was close to silence (a muted or wrong microphone). */
const QUIET_DB = -55;
/** A Bluetooth headset in its call profile (HFP) carries 8 or 16 kHz audio. */
const CALL_MODE_MAX_HZ = 16_000;
const BLUETOOTH_LABEL = /bluetooth|hands-?free|headset|hfp|airpods|buds/i;

/** Where the microphone permission lives in the browser this page runs in. */
export function permissionSteps(userAgent: string): string {
  if (/iPhone|iPad|iPod/.test(userAgent))
    return 'On iPhone and iPad: Settings › Safari › Microphone › Allow (or the “aA” button in the address bar › Website Settings › Microphone), then reload.';
  if (/Firefox\//.test(userAgent))
    return 'In Firefox: click the crossed-out microphone in the address bar and remove the block (or Settings › Privacy & Security › Permissions › Microphone), then reload.';
  if (/Android/.test(userAgent))
    return 'In Chrome on Android: tap the icon left of the address › Permissions › Microphone › Allow; also Android Settings › Apps › Chrome › Permissions › Microphone.';
  if (/Safari\//.test(userAgent) && !/Chrome|Chromium|Edg\//.test(userAgent))
    return 'In Safari: Safari › Settings for This Website › Microphone › Allow, then reload.';
  return 'In Chrome or Edge: click the icon left of the address › Site settings › Microphone › Allow, then reload. On a Mac also check System Settings › Privacy & Security › Microphone.';
}

export function fixes(userAgent: string): Fix[] {
  return [
    { id: 'permission', title: 'Microphone permission', text: permissionSteps(userAgent) },
    {
      id: 'bluetooth',
      title: 'Bluetooth headset in call mode',
      text: 'A Bluetooth headset that uses its microphone switches to the hands-free (call) profile: 8-16 kHz sound both ways, so everyone sounds muffled. Use the phone’s own microphone or a wired headset, or keep the Bluetooth headset for listening only.',
    },
    {
      id: 'silent-switch',
      title: 'iPhone silent switch',
      text: 'On an iPhone the ring/silent switch mutes web audio: flip it to ring (no orange showing) and turn the volume up with the side buttons.',
    },
    {
      id: 'mic-busy',
      title: 'Another app holds the microphone',
      text: 'A call, a video meeting or a recorder in another app or tab keeps the microphone: end it or close that tab, then run the test again.',
    },
    {
      id: 'quiet-mic',
      title: 'The microphone hears almost nothing',
      text: 'Check the mute switch on a headset, the input volume in the system settings, and which microphone the browser uses (site settings).',
    },
    {
      id: 'network',
      title: 'Weak Wi-Fi',
      text: 'Lost or late packets mean gaps and delay: move closer to the access point, or stay on one Wi-Fi network instead of roaming between two.',
    },
  ];
}

/** The fixes the findings point at, most specific first. */
export function likelyFixes(findings: Findings): FixId[] {
  const likely: FixId[] = [];
  if (findings.micProblem === 'denied') likely.push('permission');
  if (findings.micProblem === 'busy') likely.push('mic-busy');
  const rate = findings.micSampleRateHz;
  if (
    (rate !== undefined && rate > 0 && rate <= CALL_MODE_MAX_HZ) ||
    BLUETOOTH_LABEL.test(findings.micLabel ?? '')
  )
    likely.push('bluetooth');
  if (findings.inputLevelDb !== undefined && findings.inputLevelDb < QUIET_DB)
    likely.push('quiet-mic');
  if ((findings.lossPercent ?? 0) > 2 || (findings.jitterMs ?? 0) > 30) likely.push('network');
  return likely;
}
