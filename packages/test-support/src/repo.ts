import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the checkout the tests run from). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Node flag that resolves the workspace packages (@imv/*) to their TypeScript sources, not dist/. */
export const SOURCE_CONDITION_FLAG = '--conditions=imv-source';

/** Command prefix that runs a TypeScript file from the sources: tsx with the source condition. */
export const tsxCommand = [path.join(repoRoot, 'node_modules/.bin/tsx'), SOURCE_CONDITION_FLAG];
