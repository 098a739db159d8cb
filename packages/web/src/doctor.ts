import './styles/app.css';
import './styles/doctor.css';
import { startDoctor } from './ui/doctor-page.js';

const root = document.getElementById('doctor');
if (!root) throw new Error('doctor.html must have an element with id="doctor"');
// `?mic=raw` as on the main page: the browser's echo cancellation, noise suppression and gain off.
startDoctor(root, { micProcessing: new URLSearchParams(location.search).get('mic') !== 'raw' });
