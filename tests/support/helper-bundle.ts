/**
 * The privileged helper bundled as `npm run build` bundles it, once per test process, into a
 * temporary file: tests that start the helper dozens of times use it (about 0.2 s a start,
 * against 0.5 s through tsx). The CLI, crash and elevation tests keep using the tsx path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { HelperLaunch } from '../../electron/privileged/elevate';
import { helperBuildOptions } from '../../scripts/helper-build';

let bundled: Promise<HelperLaunch> | null = null;

export function bundledHelper(): Promise<HelperLaunch> {
  bundled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loopstudio-helper-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'helper.cjs');
    await build(helperBuildOptions(file));
    return { program: process.execPath, args: [file], env: {} };
  })();
  return bundled;
}
