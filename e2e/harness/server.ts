/**
 * The web harness: serves the built renderer and implements the API contract over a WebSocket on
 * 127.0.0.1, calling the same services as the Electron main process. Used by the e2e tests and by
 * `npm run web` on machines without an Electron binary.
 *
 * Only loopback is listened on; every WebSocket must present the per-run random token and come
 * from the harness's own origin, so another local page or user cannot drive the services.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { contentSecurityPolicy, CSP_META_PATTERN, cspMetaTag } from '../../shared/security/csp';
import { createServices, dispatch } from '../../electron/services';

const ROOT = resolve(__dirname, '../..');
export const DEFAULT_RENDERER_DIR = join(ROOT, 'out/renderer');
/** The harness's `window.loopback` (client.ts), built by `npm run build` (scripts/bundles.ts). */
export const DEFAULT_BRIDGE_FILE = join(ROOT, 'out/web/bridge.js');
const BRIDGE_PATH = '/__harness/bridge.js';
const SOCKET_PATH = '/__harness/ws';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface Harness {
  /** The address to open, token included. */
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

/** A built file the harness serves, or the error that says to build. */
async function builtFile(path: string, what: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => {
    throw new Error(`The ${what} is not built (${path} is missing). Run \`npm run build\` first.`);
  });
}

function sameToken(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startHarness(options: { port?: number; rendererDir?: string; bridgeFile?: string } = {}): Promise<Harness> {
  const rendererDir = options.rendererDir ?? DEFAULT_RENDERER_DIR;
  const indexHtml = await builtFile(join(rendererDir, 'index.html'), 'renderer');
  const bridgeJs = await builtFile(options.bridgeFile ?? DEFAULT_BRIDGE_FILE, "harness's bridge");
  const token = randomBytes(24).toString('hex');
  const sockets = new Set<WebSocket>();
  const services = createServices({
    shell: 'web',
    emit: (event, payload) => {
      const message = JSON.stringify({ event, payload });
      for (const socket of sockets) socket.send(message);
    },
  });

  let origin = '';
  const headers = () => ({
    'Content-Security-Policy': contentSecurityPolicy({ connectSrc: [origin.replace(/^http/, 'ws')] }),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === BRIDGE_PATH) {
      res.writeHead(200, { ...headers(), 'Content-Type': CONTENT_TYPES['.js']! }).end(bridgeJs);
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      // The bridge must define window.loopback before the app's (deferred, module) script runs.
      // The page's own <meta> policy gets the harness's WebSocket origin too (both policies apply).
      const html = indexHtml
        .replace(CSP_META_PATTERN, cspMetaTag(contentSecurityPolicy({ connectSrc: [origin.replace(/^http/, 'ws')], meta: true })))
        .replace('<head>', `<head>\n    <script src="${BRIDGE_PATH}"></script>`);
      res.writeHead(200, { ...headers(), 'Content-Type': CONTENT_TYPES['.html']! }).end(html);
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, headers()).end('bad request: malformed percent-encoding');
      return;
    }
    const file = normalize(join(rendererDir, path));
    if (!file.startsWith(rendererDir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers(), 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers()).end('not found');
    }
  };
  // Any page in the user's browser can send us requests: none of them may end the harness
  // (docs/SECURITY.md, rule 10). A request we cannot serve gets 400, never an unhandled error.
  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(400).end('bad request');
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', origin);
    } catch {
      socket.destroy();
      return;
    }
    if (url.pathname !== SOCKET_PATH || req.headers.origin !== origin || !sameToken(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 403 Forbidden\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // A malformed frame is an 'error' event: without a listener it would end the process.
      ws.on('error', () => ws.terminate());
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', async (raw) => {
        let message: { id?: unknown; method?: unknown; input?: unknown };
        try {
          message = JSON.parse(String(raw));
        } catch {
          return;
        }
        if (typeof message.id !== 'number') return;
        const result = await dispatch(services.handlers, message.method, message.input);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: message.id, result }));
      });
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    close: async () => {
      await services.shutdown();
      for (const socket of sockets) socket.terminate();
      wss.close();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
