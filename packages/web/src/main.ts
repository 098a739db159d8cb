import './styles/app.css';
import { registerServiceWorker } from './pwa/register.js';
import { startApp } from './ui/app.js';
import { createVoiceClient } from './engine/voice-client.js';

const root = document.getElementById('app');
if (!root) throw new Error('index.html must have an element with id="app"');

// `?mic=raw` turns off the browser's echo cancellation, noise suppression and gain control: for
// headset or studio microphones, and for tests that compare what was sent with the source file.
const micProcessing = new URLSearchParams(location.search).get('mic') !== 'raw';
startApp(root, (options) => createVoiceClient({ ...options, micProcessing }));

document.documentElement.dataset.build = __IMV_BUILD__;
// A new build reloads the page, but never in the middle of a talk.
registerServiceWorker({ busy: () => (window.imvClients ?? []).some((client) => client.talking) });
