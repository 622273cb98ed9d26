import { resolve } from 'node:path';
import { build as esbuild } from 'esbuild';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { helperBuildOptions } from './scripts/helper-build';
import react from '@vitejs/plugin-react';

/**
 * The privileged helper is a program of its own, started as root (through pkexec, or directly
 * when already root) by the Electron binary with ELECTRON_RUN_AS_NODE=1. It is bundled with
 * everything it imports (shared/, platform/, zod) into one file, out/privileged/helper.cjs, which
 * electron-builder keeps outside app.asar (asarUnpack: out/privileged/**): a root process cannot
 * read inside the archive. Built right after the main process.
 */
function privilegedHelper(): Plugin {
  return {
    name: 'loopback-studio:privileged-helper',
    apply: 'build',
    async closeBundle() {
      await esbuild(helperBuildOptions(resolve(__dirname, 'out/privileged/helper.cjs')));
    },
  };
}

// One build for the three Electron parts. Main and preload are bundled (with shared/) so the
// packaged app needs no TypeScript at run time; the renderer is a plain web build with relative
// URLs, so the same output loads from file:// in Electron and from the web harness.
export default defineConfig({
  main: {
    plugins: [privilegedHelper()],
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
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
    },
  },
});
