#!/usr/bin/env node
// `npm start` (and `npm run dev`): opens the Electron app. Where the Electron binary is missing —
// installed with ELECTRON_SKIP_BINARY_DOWNLOAD, or its download failed — say so and how to fix
// it, instead of Electron's stack trace.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The path of the Electron binary, or null with the reason. */
export function findElectronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed (run `npm install`)' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) {
    return { path: null, reason: 'the electron package is installed but its binary was never downloaded' };
  }
  try {
    const binary = require('electron');
    if (typeof binary === 'string' && existsSync(binary)) return { path: binary, reason: null };
  } catch {
    // fall through
  }
  return { path: null, reason: 'the Electron binary listed in node_modules/electron/path.txt is missing' };
}

const dev = process.argv.includes('--dev');
const { path, reason } = findElectronBinary();
if (!path) {
  process.stderr.write(
    `Loopback Studio cannot open its window: ${reason}.\n\n` +
      'Fix: download the Electron binary with\n' +
      '    npm rebuild electron          (or: node node_modules/electron/install.js)\n' +
      'making sure ELECTRON_SKIP_BINARY_DOWNLOAD is not set in your environment.\n\n' +
      'Without Electron you can still use everything:\n' +
      '    npm run web                   the same UI in your browser (127.0.0.1 only)\n' +
      '    npx loopstudio --help         the command line\n',
  );
  process.exit(1);
}

const bin = join(dirname(require.resolve('electron-vite/package.json')), 'bin/electron-vite.js');
// `preview` builds, then runs the built app exactly as it will be packaged; `dev` serves with HMR.
const child = spawn(process.execPath, [bin, dev ? 'dev' : 'preview'], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
