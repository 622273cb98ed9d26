/**
 * How the privileged helper is bundled: one CommonJS file with everything it imports (shared/,
 * platform/, zod), run by Node or by the Electron binary with ELECTRON_RUN_AS_NODE=1. Used by
 * electron.vite.config.ts (out/privileged/helper.cjs) and by tests that start the helper often.
 */
import { resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';

export const HELPER_ENTRY = resolve(__dirname, '../electron/privileged/helper-main.ts');

export function helperBuildOptions(outfile: string): BuildOptions {
  return { entryPoints: [HELPER_ENTRY], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning' };
}
