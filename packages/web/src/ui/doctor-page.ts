/*
 * The audio doctor page (doctor.html, linked from the microphone and sound problem messages): runs
 * the engine's echo test through the server and shows what it measured on this device, then the
 * fixes that fit. A failed test says why and leaves the page usable for another try.
 */
import { EchoTestError, runEchoTest } from '../engine/doctor/echo-test.js';
import type { EchoTestResult } from '../engine/doctor/echo-test.js';
import { MicError } from '../voice-client-api.js';
import { fixes, likelyFixes, type Findings } from './doctor-advice.js';
import { h } from './dom.js';
import { describeMicProblem } from './mic-problem.js';

interface Figure {
  id: string;
  label: string;
  value: (r: EchoTestResult) => number;
  format: (v: number, r: EchoTestResult) => string;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;
const db = (v: number) => `${v.toFixed(0)} dBFS`;

const FIGURES: Figure[] = [
  {
    id: 'mouth-to-ear',
    label: 'Mouth to ear (estimate)',
    value: (r) => r.mouthToEarMs,
    format: ms,
  },
  {
    id: 'round-trip',
    label: 'Test sound round trip',
    value: (r) => r.soundRoundTripMs,
    format: ms,
  },
  { id: 'rtt', label: 'Network round trip', value: (r) => r.networkRttMs, format: ms },
  { id: 'jitter', label: 'Jitter', value: (r) => r.jitterMs, format: ms },
  {
    id: 'loss',
    label: 'Packet loss',
    value: (r) => r.lossPercent,
    format: (v, r) => `${v.toFixed(1)} % (${r.framesBack} of ${r.framesSent} back)`,
  },
  { id: 'base-latency', label: 'Audio base latency', value: (r) => r.baseLatencyMs, format: ms },
  {
    id: 'output-latency',
    label: 'Audio output latency',
    value: (r) => r.outputLatencyMs,
    format: ms,
  },
  {
    id: 'input-level',
    label: 'Input level',
    value: (r) => r.inputLevelDb,
    format: (v, r) => `${db(v)} (peak ${db(r.inputPeakDb)})`,
  },
  {
    id: 'sample-rate',
    label: 'Sample rate',
    value: (r) => r.contextSampleRateHz,
    format: (v, r) =>
      `${v} Hz${r.micSampleRateHz !== undefined ? ` (microphone ${r.micSampleRateHz} Hz)` : ''}`,
  },
];

/** Builds the doctor into `root`. */
export function startDoctor(root: HTMLElement, options: { micProcessing: boolean }): void {
  const status = h('p', { class: 'doctor-status', role: 'status' });
  const figures = h('dl', { class: 'doctor-figures', hidden: true });
  const fixList = h('ul', { class: 'doctor-fixes' });
  const run = h('button', { class: 'doctor-run', type: 'button', text: 'Run the test' });
  const allFixes = fixes(navigator.userAgent);

  const showFixes = (findings: Findings) => {
    const likely = likelyFixes(findings);
    const ordered = [
      ...allFixes.filter((f) => likely.includes(f.id)),
      ...allFixes.filter((f) => !likely.includes(f.id)),
    ];
    fixList.replaceChildren(
      ...ordered.map((f) =>
        h(
          'li',
          { 'data-fix': f.id, class: likely.includes(f.id) ? 'likely' : null },
          h('strong', { text: likely.includes(f.id) ? `Likely: ${f.title}` : f.title }),
          h('span', { text: f.text }),
        ),
      ),
    );
  };

  const showResult = (r: EchoTestResult) => {
    figures.replaceChildren(
      ...FIGURES.map((f) => {
        const value = f.value(r);
        return h(
          'div',
          { 'data-figure': f.id },
          h('dt', { text: f.label }),
          h('dd', {
            'data-value': Number.isFinite(value) ? value : null,
            text: Number.isFinite(value) ? f.format(value, r) : 'not measured',
          }),
        );
      }),
    );
    figures.hidden = false;
    showFixes(r);
  };

  run.addEventListener('click', () => {
    run.disabled = true;
    status.className = 'doctor-status';
    status.textContent = 'Opening the microphone…';
    runEchoTest({
      serverUrl: location.href,
      micProcessing: options.micProcessing,
      onStage: (stage) => {
        status.textContent =
          stage === 'connecting'
            ? 'Connecting to the server…'
            : stage === 'recording'
              ? 'Recording 2 s: say something. You will hear it back through the server.'
              : 'Waiting for the last echoes…';
      },
    })
      .then((result) => {
        status.textContent = 'Done. These figures were measured on this device just now.';
        showResult(result);
      })
      .catch((error: unknown) => {
        status.className = 'doctor-status failed';
        status.textContent = failureText(error);
        showFixes(error instanceof MicError ? { micProblem: error.problem } : {});
      })
      .finally(() => (run.disabled = false));
  });

  showFixes({});
  root.replaceChildren(
    h(
      'main',
      { class: 'doctor' },
      h('p', {}, h('a', { href: './', text: '← Back to imv' })),
      h('h1', { text: 'Audio doctor' }),
      h('p', {
        text: 'A 2-second test: your microphone’s sound goes to the imv server and straight back (it is not sent to any room and not stored). It shows how long sound takes and what might spoil it on this device.',
      }),
      run,
      status,
      figures,
      h('h2', { text: 'Fixes' }),
      fixList,
    ),
  );
}

function failureText(error: unknown): string {
  if (error instanceof MicError) return describeMicProblem(error.problem, location.origin);
  if (error instanceof EchoTestError) {
    switch (error.reason) {
      case 'limited':
        return `The server allows a few tests a minute: ${error.message}.`;
      case 'codec':
        return 'This browser cannot encode Opus audio (WebCodecs), so the test cannot run here. Use a recent Chrome, Edge, Safari or Firefox.';
      case 'no-echo':
        return 'Nothing came back from the server: the network may drop the test. Check the Wi-Fi and try again.';
      case 'server':
        return `The test could not reach the server: ${error.message}. Check that imv is running and try again.`;
    }
  }
  return `The test failed: ${error instanceof Error ? error.message : String(error)}`;
}
