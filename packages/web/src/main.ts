import './styles/app.css';
import { startApp } from './ui/app.js';
import { createVoiceClient } from './voice-client.js';

const root = document.getElementById('app');
if (!root) throw new Error('index.html must have an element with id="app"');
startApp(root, createVoiceClient);
