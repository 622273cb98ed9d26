#!/usr/bin/env node
// Where the Electron binary is, and how to download it: shared by `npm start` (scripts/start.mjs)
// and the install step (scripts/postinstall.mjs). Electron's own install script is not allowed to
// run during `npm install` (package.json "allowScripts": electron false), because a failed
// download would roll the whole install back on a machine that cannot reach Electron's download
// host; we run the same download here instead, where a failure is only a message.
//
//   node scripts/electron-binary.mjs --download     (npm run electron:download)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The electron package's folder, or null when it is not installed (an npm-installed CLI). */
export function electronPackageDir() {
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/** The path of the Electron binary, or null with the reason. */
export function findElectronBinary() {
  const pkgDir = electronPackageDir();
  if (!pkgDir) return { path: null, reason: 'the electron package is not installed (run `npm install`)' };
  if (!existsSync(join(pkgDir, 'path.txt'))) {
    return { path: null, reason: 'the Electron binary was never downloaded' };
  }
  try {
    const binary = require('electron');
    if (typeof binary === 'string' && existsSync(binary)) return { path: binary, reason: null };
  } catch {
    // fall through
  }
  return { path: null, reason: 'the Electron binary listed in node_modules/electron/path.txt is missing' };
}

/** How to get the window, for messages. */
export const DOWNLOAD_HINT =
  "npm run electron:download   (runs electron's own download; the same as `npm rebuild electron` where npm allows its install script)";

/**
 * Runs electron's own install script (the download), without ELECTRON_SKIP_BINARY_DOWNLOAD, for at
 * most `timeoutMs`. Resolves { ok, output } and never rejects: a failed download is not an error
 * of ours, only a missing window.
 */
export function downloadElectron({ timeoutMs = 180_000, quiet = true } = {}) {
  const pkgDir = electronPackageDir();
  if (!pkgDir) return Promise.resolve({ ok: false, output: 'the electron package is not installed' });
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(pkgDir, 'install.js')], {
      cwd: pkgDir,
      env,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(gave up after ${Math.round(timeoutMs / 1000)} s)`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ ok: false, output: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ ok: code === 0 && findElectronBinary().path !== null, output });
    });
  });
}

/** The last line of a failed download that says why (electron's stack traces are long). */
export function downloadFailureReason(output) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /Error|failed|ENOTFOUND|ECONN|timed out|gave up/i.test(l)) ?? lines.at(-1) ?? 'unknown error';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--download')) {
  const result = await downloadElectron({ quiet: false, timeoutMs: 600_000 });
  process.stdout.write(
    result.ok
      ? `Electron is ready: ${findElectronBinary().path}\n`
      : 'The Electron binary could not be downloaded; `npm start` will keep using the browser.\n',
  );
  process.exitCode = result.ok ? 0 : 1;
}
