import './styles/app.css';
import { startApp } from './ui/app.js';
import { createVoiceClient } from './engine/voice-client.js';

const root = document.getElementById('app');
if (!root) throw new Error('index.html must have an element with id="app"');

// `?mic=raw` turns off the browser's echo cancellation, noise suppression and gain control: for
// headset or studio microphones, and for tests that compare what was sent with the source file.
const micProcessing = new URLSearchParams(location.search).get('mic') !== 'raw';
startApp(root, (options) => createVoiceClient({ ...options, micProcessing }));
