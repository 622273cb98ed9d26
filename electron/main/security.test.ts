import { describe, expect, it } from 'vitest';
import {
  APP_CSP,
  isAllowedExternalUrl,
  isAllowedNavigation,
  isOpenableFolder,
  isTrustedRendererUrl,
  mainWindowOptions,
  RENDERER_ENTRY_URL,
  rendererEntryUrl,
  rendererFileFor,
  secureWebPreferences,
} from './security';

describe("the window follows Electron's security checklist", () => {
  const prefs = secureWebPreferences('/app/out/preload/index.cjs');

  it('isolates and sandboxes the renderer, with no Node in it', () => {
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
    });
    expect(mainWindowOptions('/p').webPreferences).toEqual(secureWebPreferences('/p'));
  });

  it('loads the sandbox-compatible (CommonJS) preload', () => {
    expect(prefs.preload).toMatch(/\.cjs$/);
  });

  it('sends a strict Content Security Policy', () => {
    const directives = Object.fromEntries(
      APP_CSP.split(';').map((d) => {
        const [name, ...sources] = d.trim().split(/\s+/);
        return [name, sources];
      }),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(APP_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
  });

  it('trusts IPC only from our own renderer page, app://loopback/ — scheme and host', () => {
    const app = RENDERER_ENTRY_URL;
    expect(app).toBe('app://loopback/index.html');
    expect(isTrustedRendererUrl(app, app)).toBe(true);
    expect(isTrustedRendererUrl('app://loopback/assets/x.js#/images', app)).toBe(true);
    expect(isTrustedRendererUrl('app://evil/index.html', app)).toBe(false);
    expect(isTrustedRendererUrl('app://loopback.evil/index.html', app)).toBe(false);
    expect(isTrustedRendererUrl('file:///opt/app/out/renderer/index.html', app)).toBe(false);
    expect(isTrustedRendererUrl('https://example.com/', app)).toBe(false);
    expect(isTrustedRendererUrl('', app)).toBe(false);
    const dev = 'http://localhost:5173/';
    expect(isTrustedRendererUrl('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5174/', dev)).toBe(false);
    // A file:// "renderer URL" is no longer trusted at all: every file would share its origin.
    expect(isTrustedRendererUrl('file:///a/index.html', 'file:///a/index.html')).toBe(false);
  });

  it('loads the dev server only when not packaged', () => {
    expect(rendererEntryUrl({ packaged: true, devServerUrl: 'http://evil.example/' })).toBe(RENDERER_ENTRY_URL);
    expect(rendererEntryUrl({ packaged: false, devServerUrl: 'http://localhost:5173/' })).toBe('http://localhost:5173/');
    expect(rendererEntryUrl({ packaged: false, devServerUrl: undefined })).toBe(RENDERER_ENTRY_URL);
  });

  it('serves app:// from the renderer folder only', () => {
    const dir = '/opt/app/out/renderer';
    expect(rendererFileFor('app://loopback/index.html', dir)).toEqual({ file: `${dir}/index.html` });
    expect(rendererFileFor('app://loopback/', dir)).toEqual({ file: `${dir}/index.html` });
    expect(rendererFileFor('app://loopback/assets/a%20b.js', dir)).toEqual({ file: `${dir}/assets/a b.js` });
    expect(rendererFileFor('app://loopback/..%2f..%2f..%2fetc%2fpasswd', dir)).toEqual({ status: 403 });
    expect(rendererFileFor('app://loopback/%', dir)).toEqual({ status: 400 });
    expect(rendererFileFor('app://other/index.html', dir)).toEqual({ status: 404 });
  });

  it('blocks navigation away from the app', () => {
    const app = RENDERER_ENTRY_URL;
    expect(isAllowedNavigation('https://example.com/', app)).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd', app)).toBe(false);
    expect(isAllowedNavigation(app, app)).toBe(true);
  });

  it('opens only documentation links in the browser', () => {
    expect(isAllowedExternalUrl('https://wiki.osdev.org/Loopback_Device')).toBe(true);
    expect(isAllowedExternalUrl('https://www.gnu.org/software/grub/manual/grub/grub.html')).toBe(true);
    expect(isAllowedExternalUrl('https://example.com/')).toBe(false);
    expect(isAllowedExternalUrl('https://wiki.osdev.org.evil.example/')).toBe(false);
    expect(isAllowedExternalUrl('https://user:pw@wiki.osdev.org/')).toBe(false);
    expect(isAllowedExternalUrl('file:///usr/bin/xterm')).toBe(false);
    expect(isAllowedExternalUrl('http://wiki.osdev.org/')).toBe(false);
  });

  it('opens only our mount folders in the file manager', () => {
    const places = { mountRoot: '/run/user/1000/loopback-studio/mnt', mountDirs: ['/home/me/mnt'] };
    expect(isOpenableFolder('/run/user/1000/loopback-studio/mnt/c-p1', places)).toBe(true);
    expect(isOpenableFolder('/home/me/mnt', places)).toBe(true);
    expect(isOpenableFolder('/run/user/1000/loopback-studio/mnt/../../../../etc', places)).toBe(false);
    expect(isOpenableFolder('/run/user/1000/loopback-studio/mnt', places)).toBe(false);
    expect(isOpenableFolder('/usr/bin', places)).toBe(false);
    expect(isOpenableFolder('relative', places)).toBe(false);
  });
});
