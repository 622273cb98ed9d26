/**
 * Electron's security checklist, as plain data and pure functions so that tests can check them
 * under Node (this file imports only Electron's types, never Electron itself).
 * https://www.electronjs.org/docs/latest/tutorial/security
 */
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { contentSecurityPolicy } from '../../shared/security/csp';

/**
 * The renderer is served from our own scheme, app://loopback/, not file:// (docs/SECURITY.md,
 * rule 9): a file:// page shares its origin with every local file, and Electron grants file://
 * extra privileges. The scheme is standard and secure, so the page gets a real origin.
 */
export const RENDERER_SCHEME = 'app';
export const RENDERER_HOST = 'loopback';
export const RENDERER_ENTRY_URL = `${RENDERER_SCHEME}://${RENDERER_HOST}/index.html`;

/**
 * The page the window loads: the electron-vite dev server (ELECTRON_RENDERER_URL) only in an
 * unpackaged run — an installed app never loads code from an address in its environment.
 */
export function rendererEntryUrl(options: { packaged: boolean; devServerUrl: string | undefined }): string {
  return !options.packaged && options.devServerUrl ? options.devServerUrl : RENDERER_ENTRY_URL;
}

/** The built renderer's file an app:// request asks for, or the status to answer instead. */
export function rendererFileFor(requestUrl: string, rendererDir: string): { file: string } | { status: 400 | 403 | 404 } {
  let url: URL;
  let path: string;
  try {
    url = new URL(requestUrl);
    path = decodeURIComponent(url.pathname);
  } catch {
    return { status: 400 };
  }
  if (url.protocol !== `${RENDERER_SCHEME}:` || url.host !== RENDERER_HOST) return { status: 404 };
  if (path.includes('\0')) return { status: 400 };
  const file = normalize(join(rendererDir, path === '/' ? '/index.html' : path));
  return file.startsWith(rendererDir + sep) ? { file } : { status: 403 };
}

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
 * Whether a frame URL belongs to our renderer: app://loopback/ (scheme and host both: an app://
 * URL's origin is opaque to the WHATWG parser, so they are compared one by one) or, in an
 * unpackaged development run, the electron-vite dev server's origin. Used to refuse IPC and
 * navigation from anything else.
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
  if (app.protocol === `${RENDERER_SCHEME}:`)
    return frame.protocol === app.protocol && frame.host === app.host && frame.host === RENDERER_HOST;
  if (app.protocol !== 'http:' && app.protocol !== 'https:') return false;
  return frame.origin === app.origin;
}

/**
 * Documentation the app may open in the user's browser (links in the UI). Anything else a page
 * asks to open is refused: a compromised renderer must not launch arbitrary URLs or programs.
 */
export const EXTERNAL_DOCUMENTATION = [
  'https://wiki.osdev.org/',
  'https://www.gnu.org/software/grub/manual/',
  'https://www.qemu.org/docs/',
  'https://qemu-project.gitlab.io/qemu/',
  'https://www.electronjs.org/docs/',
] as const;

export function isAllowedExternalUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === 'https:' &&
    !parsed.username &&
    !parsed.password &&
    EXTERNAL_DOCUMENTATION.some((prefix) => parsed.href.startsWith(prefix))
  );
}

/**
 * Whether the renderer may have a folder opened in the file manager: only our mount folders (under
 * the mount root, or a mount point recorded in the loop journal). Opening anything else could run
 * a program (shell.openPath opens files with their default application).
 */
export function isOpenableFolder(path: string, places: { mountRoot: string; mountDirs: readonly string[] }): boolean {
  if (!isAbsolute(path) || path.includes('\0')) return false;
  const folder = normalize(path);
  return places.mountDirs.includes(folder) || folder.startsWith(normalize(places.mountRoot) + sep);
}

/** Navigation away from the app is never allowed; a reload of the same page is. */
export function isAllowedNavigation(targetUrl: string, rendererUrl: string): boolean {
  return isTrustedRendererUrl(targetUrl, rendererUrl);
}
