#!/usr/bin/env node
// `npm install`'s last step in a checkout: get the Electron binary if we can, and say once what
// happens if we cannot. Never fails the install: everything but the window (the CLI, and the same
// UI in a browser) works without Electron. Silent where the electron package is not installed at
// all (the npm package of the CLI, installed with `npm install -g`).
import { DOWNLOAD_HINT, downloadElectron, downloadFailureReason, electronPackageDir, findElectronBinary } from './electron-binary.mjs';

function explain(why) {
  process.stdout.write(
    `\nLoopback Studio: the Electron binary is not installed (${why}).\n` +
      `  The desktop window will not open until it is: ${DOWNLOAD_HINT}\n` +
      '  Until then `npm start` serves the same UI in your browser (127.0.0.1, a one-time token), and `npx loopstudio` works as usual.\n\n',
  );
}

if (electronPackageDir() && !findElectronBinary().path) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    explain('ELECTRON_SKIP_BINARY_DOWNLOAD is set');
  } else {
    const result = await downloadElectron();
    if (!result.ok) explain(`its download failed: ${downloadFailureReason(result.output)}`);
  }
}
