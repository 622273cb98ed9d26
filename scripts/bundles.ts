/**
 * The two Node programs we ship as esbuild bundles, beside electron-vite's main/preload/renderer
 * (docs/ARCHITECTURE.md, "Built code"). Nothing at run time transpiles TypeScript or loads code from
 * a shared temporary folder: `bin/loopstudio.cjs` runs out/cli, and the root helper is always
 * out/privileged/helper.cjs (docs/SECURITY.md).
 *
 * - The privileged helper: one CommonJS file with everything it imports (shared/, platform/, zod),
 *   run by Node or by the Electron binary with ELECTRON_RUN_AS_NODE=1 — one file, so a root process
 *   reads exactly one file of ours.
 * - The CLI: ESM with code splitting, so each command's code (and the services) is a chunk loaded
 *   when that command runs; `--version`, `--help` and `geometry` load almost nothing. Every npm
 *   library is bundled: an installed package needs no dependency at run time for the CLI.
 * - The web shell (`npm run web`, and `npm start` without an Electron binary): the harness server
 *   (out/web/server.cjs) and its browser-side bridge (out/web/bridge.js), served beside
 *   out/renderer.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const ROOT = resolve(__dirname, '..');
export const HELPER_ENTRY = resolve(ROOT, 'electron/privileged/helper-main.ts');
export const CLI_ENTRY = resolve(ROOT, 'electron/cli/main.ts');
export const HELPER_OUTFILE = resolve(ROOT, 'out/privileged/helper.cjs');
export const CLI_OUTDIR = resolve(ROOT, 'out/cli');
export const WEB_OUTDIR = resolve(ROOT, 'out/web');

export function helperBuildOptions(outfile: string = HELPER_OUTFILE): BuildOptions {
  return { entryPoints: [HELPER_ENTRY], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning' };
}

/**
 * ESM has no `require`, `__filename` or `__dirname`; the few places that use them (elevate.ts finds
 * the helper beside its own file) get them from the chunk's own URL. Chunks stay in the same
 * folder as the entry, so `__dirname` is out/cli for every one of them.
 */
const ESM_COMMONJS_SHIMS = [
  "import { createRequire as __loopstudioCreateRequire } from 'node:module';",
  "import { fileURLToPath as __loopstudioFileURLToPath } from 'node:url';",
  "import { dirname as __loopstudioDirname } from 'node:path';",
  'const require = __loopstudioCreateRequire(import.meta.url);',
  'const __filename = __loopstudioFileURLToPath(import.meta.url);',
  'const __dirname = __loopstudioDirname(__filename);',
].join('\n');

export function cliBuildOptions(outdir: string = CLI_OUTDIR): BuildOptions {
  return {
    entryPoints: { main: CLI_ENTRY },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    banner: { js: ESM_COMMONJS_SHIMS },
    // Smaller files parse faster at every start; identifiers are kept so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

export function webBuildOptions(outdir: string = WEB_OUTDIR): BuildOptions[] {
  return [
    {
      entryPoints: [resolve(ROOT, 'e2e/harness/cli.ts')],
      outfile: resolve(outdir, 'server.cjs'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // ws's optional native speed-ups: it works without them.
      external: ['bufferutil', 'utf-8-validate'],
      logLevel: 'warning',
    },
    {
      entryPoints: [resolve(ROOT, 'e2e/harness/client.ts')],
      outfile: resolve(outdir, 'bridge.js'),
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'warning',
    },
  ];
}

/**
 * Builds them all. The CLI goes to a fresh folder that then takes out/cli's place, so no stale
 * chunk survives a rebuild and a `loopstudio` started meanwhile (a test, a Makefile) finds either
 * the old whole CLI or the new one, never half of one.
 */
export async function buildNodeBundles(): Promise<void> {
  const fresh = `${CLI_OUTDIR}.building-${process.pid}`;
  const old = `${CLI_OUTDIR}.old-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  await Promise.all([helperBuildOptions(), cliBuildOptions(fresh), ...webBuildOptions()].map((options) => build(options)));
  if (existsSync(CLI_OUTDIR)) renameSync(CLI_OUTDIR, old);
  renameSync(fresh, CLI_OUTDIR);
  rmSync(old, { recursive: true, force: true });
}
