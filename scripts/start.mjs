#!/usr/bin/env node
// `npm start` (and `npm run dev`): opens the Electron app where its binary is installed. Where it
// is not — a machine that cannot reach Electron's download host, or ELECTRON_SKIP_BINARY_DOWNLOAD —
// it builds and serves the same UI as `npm run web` (127.0.0.1, a one-time token), opens it in the
// default browser when there is one, and says why it is not a window. Ctrl+C ends either cleanly.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOWNLOAD_HINT, findElectronBinary } from './electron-binary.mjs';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const electronVite = join(dirname(require.resolve('electron-vite/package.json')), 'bin/electron-vite.js');

/** Runs a child with our terminal; Ctrl+C reaches it (and us: we wait for it to finish). */
function run(args, { onExit }) {
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => onExit(signal ? 0 : (code ?? 0)));
}

const { path, reason } = findElectronBinary();
if (path) {
  // `preview` builds, then runs the built app exactly as it will be packaged; `dev` serves with HMR.
  run([electronVite, dev ? 'dev' : 'preview'], { onExit: (code) => process.exit(code) });
} else {
  process.stdout.write(
    `Loopback Studio cannot open its window here: ${reason}.\n` +
      'Serving the same app in your browser instead (127.0.0.1 only, with a one-time token)' +
      `${dev ? '; no hot reload without Electron' : ''}.\n` +
      `For the desktop window: ${DOWNLOAD_HINT}\n\n`,
  );
  run([electronVite, 'build'], {
    onExit: (code) => {
      if (code !== 0) process.exit(code);
      run([join(ROOT, 'out/web/server.cjs'), '--open'], { onExit: (serverCode) => process.exit(serverCode) });
    },
  });
}
