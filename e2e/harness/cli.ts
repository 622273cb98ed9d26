/**
 * `npm run web`, and `npm start` where the Electron binary is missing: the app's UI in any browser.
 * Listens on 127.0.0.1 only and prints the address with its one-time token; with --open it also
 * opens that address in the default browser, when this machine has one. Built by `npm run build`
 * into out/web/server.cjs (scripts/bundles.ts), which finds the renderer and the bridge beside it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startHarness } from './server';

const portArg = process.argv.find((arg) => arg.startsWith('--port='));
const port = portArg ? Number(portArg.slice('--port='.length)) : 0;
const open = process.argv.includes('--open');
const bundled = !__filename.endsWith('.ts');

/** The platform's "open this address" program; a machine without one (a server, CI) is fine. */
function openInBrowser(url: string): void {
  if (process.platform !== 'darwin' && process.platform !== 'win32' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    process.stdout.write('(No graphical session here, so no browser was opened: open the address above from one.)\n');
    return;
  }
  const [program, ...args] =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  try {
    const child = spawn(program!, args, { stdio: 'ignore', detached: true });
    child.on('error', () => process.stdout.write(`(No browser could be started here: open the address above yourself.)\n`));
    child.unref();
  } catch {
    // Nothing to open with: the address is printed.
  }
}

startHarness({ port, ...(bundled ? { rendererDir: join(__dirname, '../renderer'), bridgeFile: join(__dirname, 'bridge.js') } : {}) }).then(
  (harness) => {
    process.stdout.write(
      `Loopback Studio (web) is running.\nOpen: ${harness.url}\n` +
        `It listens on 127.0.0.1 only; the token in the address is this run's key. Ctrl+C stops it.\n`,
    );
    if (open) openInBrowser(harness.url);
    const stop = () => void harness.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
  (error: Error) => {
    process.stderr.write(`loopstudio web: ${error.message}\n`);
    process.exit(1);
  },
);
