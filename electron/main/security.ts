/**
 * Electron's security checklist, as plain data and pure functions so that tests can check them
 * under Node (this file imports only Electron's types, never Electron itself).
 * https://www.electronjs.org/docs/latest/tutorial/security
 */
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { contentSecurityPolicy } from '../../shared/security/csp';

export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1200,
    height: 780,
    minWidth: 820,
    minHeight: 520,
    title: 'Loopback Studio',
    show: false,
    backgroundColor: '#1d1f23',
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(preloadPath),
  };
}

/** The policy sent with every response to the renderer (the app loads no remote content). */
export const APP_CSP = contentSecurityPolicy();

/**
 * Whether a frame URL belongs to our renderer: the built index.html (file://) or, in development,
 * the electron-vite dev server's origin. Used to refuse IPC from anything else.
 */
export function isTrustedRendererUrl(frameUrl: string, rendererUrl: string): boolean {
  let frame: URL;
  let app: URL;
  try {
    frame = new URL(frameUrl);
    app = new URL(rendererUrl);
  } catch {
    return false;
  }
  if (app.protocol === 'file:') return frame.protocol === 'file:' && frame.pathname === app.pathname;
  return frame.origin === app.origin;
}

/** Navigation away from the app is never allowed; a reload of the same page is. */
export function isAllowedNavigation(targetUrl: string, rendererUrl: string): boolean {
  return isTrustedRendererUrl(targetUrl, rendererUrl);
}
