/**
 * The Electron main process: one window, Electron's security checklist applied, the contract's
 * methods bound to the services over IPC.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { app, BrowserWindow, protocol, session, shell, webContents } from 'electron';
import { createServices } from '../services';
import { registerHostDialogs } from './host-dialogs';
import { registerIpcHandlers, sendEvent } from './ipc';
import {
  APP_CSP,
  isAllowedExternalUrl,
  isAllowedNavigation,
  mainWindowOptions,
  RENDERER_SCHEME,
  rendererEntryUrl,
  rendererFileFor,
} from './security';

const rendererDir = join(__dirname, '../renderer');
const entryUrl = rendererEntryUrl({ packaged: app.isPackaged, devServerUrl: process.env.ELECTRON_RENDERER_URL });
const rendererUrl = (): string => entryUrl;

// app://loopback/ must be known as a standard, secure scheme before the app is ready.
protocol.registerSchemesAsPrivileged([{ scheme: RENDERER_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Serves the built renderer, and nothing outside its folder, on app://loopback/. */
async function serveRenderer(request: Request): Promise<Response> {
  const target = rendererFileFor(request.url, rendererDir);
  if ('status' in target) return new Response(null, { status: target.status });
  try {
    const body = await readFile(target.file);
    return new Response(body, {
      headers: {
        'Content-Type': CONTENT_TYPES[extname(target.file)] ?? 'application/octet-stream',
        'Content-Security-Policy': APP_CSP,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch {
    return new Response(null, { status: 404 });
  }
}

const services = createServices({
  shell: 'electron',
  electronVersion: process.versions.electron ?? null,
  emit: (event, payload) => sendEvent(webContents.getAllWebContents(), event, payload),
});

function hardenSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow(mainWindowOptions(join(__dirname, '../preload/index.cjs')));
  window.once('ready-to-show', () => window.show());
  void window.loadURL(entryUrl);
  return window;
}

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, rendererUrl())) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Links to documentation open in the user's browser, never inside the app; nothing else opens.
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.whenReady().then(() => {
  hardenSession();
  protocol.handle(RENDERER_SCHEME, serveRenderer);
  registerIpcHandlers(services.handlers, rendererUrl);
  registerHostDialogs(rendererUrl, async () => {
    const state = await services.loops.list();
    return { mountRoot: state.mountRoot, mountDirs: state.entries.flatMap((entry) => (entry.mountDir ? [entry.mountDir] : [])) };
  });
  createWindow();
  // Leftovers of a crashed run (loop devices, mounts) go to the UI as a loopsChanged event; it
  // offers loops.cleanup. Nothing is released without the user's say.
  void services.loops.list().then(
    (state) => sendEvent(webContents.getAllWebContents(), 'loopsChanged', state),
    () => {},
  );
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

// Before quitting: stop this run's QEMU sessions and release its loop devices and mounts (sync,
// unmount, detach: one prompt). If that fails or the user says no, they stay recorded and the
// next start offers them.
let shutDown = false;
app.on('will-quit', (event) => {
  if (shutDown) return;
  event.preventDefault();
  shutDown = true;
  void services
    .shutdown()
    .catch((error: unknown) => console.error('Loopback Studio: could not shut down cleanly:', error))
    .finally(() => app.quit());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
