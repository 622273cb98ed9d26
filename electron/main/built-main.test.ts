/**
 * The built main process and preload (out/main/index.js, out/preload/index.cjs), loaded under Node
 * with a recording stand-in for the `electron` module — no Electron binary can run here. Checks
 * what the real app would do at start: a handler for every contract method (and the host dialogs),
 * senders checked, the window's secure preferences, the renderer served on app://loopback/ with
 * its CSP, only documentation opened outside, and a preload exposing one function per method.
 */
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methodChannel, methodNames } from '../../shared/api/contract';
import { HOST_CHANNELS } from '../../shared/api/host-bridge';
import { contentSecurityPolicy, cspMetaTag } from '../../shared/security/csp';
import { APP_CSP, RENDERER_ENTRY_URL, secureWebPreferences } from './security';

const OUT = resolve(__dirname, '../../out');
const built = existsSync(join(OUT, 'main/index.js')) && existsSync(join(OUT, 'preload/index.cjs'));

type Listener = (...args: unknown[]) => unknown;
const recorded = {
  ipcHandlers: new Map<string, Listener>(),
  windows: [] as { webPreferences: unknown }[],
  loadedUrls: [] as string[],
  privilegedSchemes: [] as unknown[],
  protocolHandlers: new Map<string, Listener>(),
  appListeners: new Map<string, Listener>(),
  openedExternally: [] as string[],
  exposed: new Map<string, Record<string, unknown>>(),
  invoked: [] as string[],
};

const standIn = {
  app: {
    isPackaged: true,
    whenReady: () => Promise.resolve(),
    on: (name: string, listener: Listener) => recorded.appListeners.set(name, listener),
    quit: () => {},
  },
  BrowserWindow: class {
    static getAllWindows = () => [];
    static fromWebContents = () => null;
    constructor(options: { webPreferences: unknown }) {
      recorded.windows.push(options);
    }
    once() {}
    loadURL(url: string) {
      recorded.loadedUrls.push(url);
      return Promise.resolve();
    }
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]) => recorded.privilegedSchemes.push(...schemes),
    handle: (scheme: string, handler: Listener) => recorded.protocolHandlers.set(scheme, handler),
  },
  session: { defaultSession: { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, webRequest: { onHeadersReceived() {} } } },
  shell: { openExternal: async (url: string) => void recorded.openedExternally.push(url), openPath: async () => '' },
  webContents: { getAllWebContents: () => [] },
  ipcMain: { handle: (channel: string, handler: Listener) => recorded.ipcHandlers.set(channel, handler) },
  dialog: {},
  contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => recorded.exposed.set(key, api) },
  ipcRenderer: {
    invoke: async (channel: string) => void recorded.invoked.push(channel),
    on() {},
    removeListener() {},
  },
  webUtils: { getPathForFile: () => '' },
};

const moduleWithLoad = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = moduleWithLoad._load;
const savedRendererUrl = process.env.ELECTRON_RENDERER_URL;

beforeAll(async () => {
  if (!built) return;
  // A packaged app must ignore this: an installed app never loads code from its environment.
  process.env.ELECTRON_RENDERER_URL = 'http://evil.example/';
  moduleWithLoad._load = function load(request: string, ...rest: unknown[]) {
    return request === 'electron' ? standIn : originalLoad.call(this, request, ...rest);
  };
  const requireBuilt = createRequire(__filename);
  requireBuilt(join(OUT, 'main/index.js'));
  requireBuilt(join(OUT, 'preload/index.cjs'));
  await new Promise((r) => setTimeout(r, 50)); // app.whenReady().then(…)
});

afterAll(() => {
  moduleWithLoad._load = originalLoad;
  if (savedRendererUrl === undefined) delete process.env.ELECTRON_RENDERER_URL;
  else process.env.ELECTRON_RENDERER_URL = savedRendererUrl;
});

const trusted = { senderFrame: { url: RENDERER_ENTRY_URL } };

describe.skipIf(!built)('the built main process and preload, with a recording stand-in for electron', () => {
  it('registers a handler for every contract method and for the host dialogs', () => {
    const expected = [...methodNames.map((name) => methodChannel(name)), ...Object.values(HOST_CHANNELS)];
    expect([...recorded.ipcHandlers.keys()].sort()).toEqual(expected.sort());
  });

  it('answers our renderer and refuses any other sender', async () => {
    const handler = recorded.ipcHandlers.get(methodChannel('app.version'))!;
    expect(await handler(trusted, {})).toMatchObject({ ok: true, value: { name: 'Loopback Studio' } });
    for (const url of ['file:///tmp/evil.html', 'app://evil/index.html', 'http://evil.example/']) {
      expect(await handler({ senderFrame: { url } }, {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    await expect(recorded.ipcHandlers.get(HOST_CHANNELS.openFolder)!({ senderFrame: { url: 'file:///x' } }, '/tmp')).rejects.toThrow(
      /unexpected sender/,
    );
    await expect(recorded.ipcHandlers.get(HOST_CHANNELS.openFolder)!(trusted, '/usr/bin')).rejects.toThrow(/only a mount folder/);
  });

  it('opens one window with the secure preferences, on app://loopback/ even when ELECTRON_RENDERER_URL is set', () => {
    expect(recorded.windows).toHaveLength(1);
    expect(recorded.windows[0]!.webPreferences).toEqual(secureWebPreferences(join(OUT, 'preload/index.cjs')));
    expect(recorded.loadedUrls).toEqual([RENDERER_ENTRY_URL]);
    expect(recorded.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  it('serves the renderer on app:// with its CSP, and nothing outside its folder', async () => {
    const serve = recorded.protocolHandlers.get('app')!;
    const page = (await serve({ url: 'app://loopback/index.html' })) as Response;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(APP_CSP);
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    expect(html).toContain(cspMetaTag(contentSecurityPolicy({ meta: true })));
    expect(((await serve({ url: 'app://loopback/..%2f..%2fpackage.json' })) as Response).status).toBe(403);
    expect(((await serve({ url: 'app://loopback/%' })) as Response).status).toBe(400);
  });

  it('denies new windows and opens only documentation in the browser', () => {
    let openHandler: Listener = () => undefined;
    const contents = { on() {}, setWindowOpenHandler: (handler: Listener) => (openHandler = handler) };
    recorded.appListeners.get('web-contents-created')!({}, contents);
    expect(openHandler({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(openHandler({ url: 'https://wiki.osdev.org/Loopback_Device' })).toEqual({ action: 'deny' });
    expect(recorded.openedExternally).toEqual(['https://wiki.osdev.org/Loopback_Device']);
  });

  it('the preload exposes one function per contract method (loopback.image.create …), each calling its own channel', async () => {
    const api = recorded.exposed.get('loopback') as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
    for (const name of methodNames) {
      const [namespace, member] = name.split('.') as [string, string];
      recorded.invoked.length = 0;
      await api[namespace]![member]!({});
      expect(recorded.invoked).toEqual([methodChannel(name)]);
    }
    expect(Object.keys(recorded.exposed.get('loopbackHost')!).sort()).toEqual(['choosePath', 'openFolder', 'pathForFile']);
  });
});
