#!/usr/bin/env node
// The imv command. Sources are TypeScript run through tsx, so there is no build step between
// `npm ci` and a working `imv`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
