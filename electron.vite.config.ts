import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { buildNodeBundles } from './scripts/bundles';
import { contentSecurityPolicy, cspMetaTag } from './shared/security/csp';
import react from '@vitejs/plugin-react';

/**
 * The two Node programs of their own, built right after the main process (scripts/bundles.ts):
 * the privileged helper, started as root (through pkexec, or directly when already root) by the
 * Electron binary with ELECTRON_RUN_AS_NODE=1, into out/privileged/helper.cjs; and the
 * `loopstudio` CLI into out/cli. electron-builder keeps both outside app.asar (asarUnpack): a
 * root process cannot read inside the archive, and the CLI launcher runs them as plain files.
 */
function nodePrograms(): Plugin {
  return {
    name: 'loopback-studio:node-programs',
    apply: 'build',
    async closeBundle() {
      await buildNodeBundles();
    },
  };
}

/**
 * The built index.html carries the CSP in a <meta> tag too (docs/SECURITY.md, rule 9), the first
 * thing in <head>. Only in the build: the dev server's hot reload needs an inline preamble.
 */
function cspMeta(): Plugin {
  return {
    name: 'loopback-studio:csp-meta',
    apply: 'build',
    transformIndexHtml: (html) => html.replace('<head>', `<head>\n    ${cspMetaTag(contentSecurityPolicy({ meta: true }))}`),
  };
}

// One build for the three Electron parts. Main and preload are bundled (with shared/) so the
// packaged app needs no TypeScript at run time; the renderer is a plain web build with relative
// URLs, so the same output loads from file:// in Electron and from the web harness.
export default defineConfig({
  main: {
    plugins: [nodePrograms()],
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: { index: resolve(__dirname, 'electron/main/index.ts') },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require only 'electron': bundle everything else (zod, shared/).
      externalizeDeps: false,
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'electron/preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    base: './',
    // One icon source for the window, the web page and the packages (assets/icons are rendered from it).
    publicDir: resolve(__dirname, 'assets/public'),
    plugins: [react(), cspMeta()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      // electron-vite leaves the renderer unminified by default; the shipped app (and the page the
      // harness serves) is the minified build. The initial-JS budget is checked against this
      // output by tests/renderer-bundle.test.ts, and measured by bench/renderer.ts.
      minify: true,
      rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
    },
  },
});
