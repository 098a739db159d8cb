export * from './mdns.js';
