/**
 * The Electron main process: one window, Electron's security checklist applied, the contract's
 * methods bound to the services over IPC.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, session, shell, webContents } from 'electron';
import { createServices } from '../services';
import { registerHostDialogs } from './host-dialogs';
import { registerIpcHandlers, sendEvent } from './ipc';
import { APP_CSP, isAllowedNavigation, mainWindowOptions } from './security';

const rendererFile = join(__dirname, '../renderer/index.html');
const devServerUrl = process.env.ELECTRON_RENDERER_URL;
const rendererUrl = (): string => devServerUrl ?? pathToFileURL(rendererFile).href;

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
  if (devServerUrl) void window.loadURL(devServerUrl);
  else void window.loadFile(rendererFile);
  return window;
}

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, rendererUrl())) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Links to documentation open in the user's browser, never inside the app.
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.whenReady().then(() => {
  hardenSession();
  registerIpcHandlers(services.handlers, rendererUrl);
  registerHostDialogs(rendererUrl);
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
