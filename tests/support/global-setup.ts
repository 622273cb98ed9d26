/**
 * vitest's global setup: the suite runs the CLI, the root helper and the web shell as built
 * (out/cli, out/privileged/helper.cjs, out/web — docs/ARCHITECTURE.md, "Built code"), never from
 * the sources. `npm test` builds before vitest; a developer who edits and runs vitest alone gets
 * these bundles rebuilt here when a source is newer than them (esbuild, about a second).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildNodeBundles, CLI_OUTDIR, HELPER_OUTFILE, WEB_OUTDIR } from '../../scripts/bundles';

const ROOT = resolve(__dirname, '../..');
const SOURCES = ['electron', 'shared', 'e2e/harness', 'scripts/bundles.ts', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

export async function setup(): Promise<void> {
  const outputs = [join(CLI_OUTDIR, 'main.mjs'), HELPER_OUTFILE, join(WEB_OUTDIR, 'server.cjs'), join(WEB_OUTDIR, 'bridge.js')];
  const built = outputs.every((file) => existsSync(file)) ? Math.min(...outputs.map((file) => statSync(file).mtimeMs)) : -Infinity;
  const edited = Math.max(...SOURCES.map((source) => newestMtime(join(ROOT, source))));
  if (edited > built) await buildNodeBundles();
}
