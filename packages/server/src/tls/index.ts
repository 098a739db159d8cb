export * from './certificates.js';
export * from './machine-addresses.js';
export * from './mobileconfig.js';
export * from './qr.js';
export * from './onboarding-routes.js';
export * from './server-credentials.js';
