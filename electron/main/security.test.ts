import { describe, expect, it } from 'vitest';
import { APP_CSP, isAllowedNavigation, isTrustedRendererUrl, mainWindowOptions, secureWebPreferences } from './security';

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

  it('trusts IPC only from our own renderer page', () => {
    const app = 'file:///opt/Loopback%20Studio/resources/app.asar/out/renderer/index.html';
    expect(isTrustedRendererUrl(app, app)).toBe(true);
    expect(isTrustedRendererUrl(`${app}#/images`, app)).toBe(true);
    expect(isTrustedRendererUrl('file:///tmp/evil.html', app)).toBe(false);
    expect(isTrustedRendererUrl('https://example.com/', app)).toBe(false);
    expect(isTrustedRendererUrl('', app)).toBe(false);
    const dev = 'http://localhost:5173/';
    expect(isTrustedRendererUrl('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5174/', dev)).toBe(false);
  });

  it('blocks navigation away from the app', () => {
    const app = 'file:///app/out/renderer/index.html';
    expect(isAllowedNavigation('https://example.com/', app)).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd', app)).toBe(false);
    expect(isAllowedNavigation(app, app)).toBe(true);
  });
});
