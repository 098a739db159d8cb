import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Vitest global setup: compiles the Node packages first (under a second), so the end-to-end tests
 * that run the real `imv` command (bin/imv.js runs dist/) always run the sources being tested.
 */
export default function setup() {
  execFileSync(process.execPath, [path.join(import.meta.dirname, 'build-node.js')], {
    stdio: 'inherit',
  });
}
