import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHarness, type Harness } from './server';

let harness: Harness;
let dir: string;

beforeAll(async () => {
  // A stand-in renderer: these tests are about the harness's doors, not the UI.
  dir = mkdtempSync(join(tmpdir(), 'loopstudio-harness-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  harness = await startHarness({ rendererDir: dir });
});

afterAll(async () => {
  await harness.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(url: string, origin: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function call(ws: WebSocket, method: string, input: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 1e9);
    ws.on('message', function onMessage(raw) {
      const data = JSON.parse(String(raw));
      if (data.id === id) {
        ws.off('message', onMessage);
        resolve(data.result);
      }
    });
    ws.send(JSON.stringify({ id, method, input }));
  });
}

const socketUrl = (token: string) => `${harness.origin.replace('http', 'ws')}/__harness/ws?token=${token}`;

describe('the web harness', () => {
  it('listens on 127.0.0.1 only, with a long random token', () => {
    expect(harness.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(harness.token).toMatch(/^[0-9a-f]{48}$/);
    expect(harness.url).toBe(`${harness.origin}/?token=${harness.token}`);
  });

  it('serves the renderer with the bridge injected and a strict CSP', async () => {
    const res = await fetch(`${harness.origin}/`);
    const html = await res.text();
    expect(html).toContain('<script src="/__harness/bridge.js"></script>');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${harness.origin.replace('http', 'ws')}`);
    expect(await (await fetch(`${harness.origin}/__harness/bridge.js`)).text()).toContain('loopback');
  });

  it('refuses paths outside the renderer folder', async () => {
    expect((await fetch(`${harness.origin}/app.js`)).status).toBe(200);
    expect((await fetch(`${harness.origin}/..%2f..%2f..%2fetc%2fpasswd`)).status).toBe(403);
    expect((await fetch(`${harness.origin}/missing.js`)).status).toBe(404);
  });

  it('answers malformed requests with 400 and keeps serving (any web page can send them)', async () => {
    expect((await fetch(`${harness.origin}/%`)).status).toBe(400);
    expect((await fetch(`${harness.origin}/assets/%E0%A4%A`)).status).toBe(400);
    // Raw requests no fetch would send: a bad request line, a bad URL on an upgrade.
    for (const raw of [
      'GET /% HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      'NOT HTTP\r\n\r\n',
    ]) {
      await new Promise<void>((resolve) => {
        const socket = connectTcp(Number(new URL(harness.origin).port), '127.0.0.1', () => socket.end(raw));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    expect((await fetch(`${harness.origin}/app.js`)).status).toBe(200);
  });

  it('survives a garbage WebSocket frame on an authorised connection', async () => {
    const socket = await connect(socketUrl(harness.token), harness.origin);
    // A frame with reserved bits set and a bogus opcode: ws reports it as an error on the server side.
    (socket as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0xff, 0x80, 0, 0, 0, 0]));
    await new Promise((resolve) => socket.on('close', resolve));
    expect((await fetch(`${harness.origin}/app.js`)).status).toBe(200);
  });

  it('answers calls over the WebSocket with the right token and origin', async () => {
    const ws = await connect(socketUrl(harness.token), harness.origin);
    expect(await call(ws, 'app.version', {})).toMatchObject({ ok: true, value: { shell: 'web' } });
    expect(await call(ws, 'nope.nothing', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    ws.close();
  });

  it('refuses a wrong token, a missing token and a foreign origin', async () => {
    await expect(connect(socketUrl('0'.repeat(48)), harness.origin)).rejects.toThrow('403');
    await expect(connect(socketUrl(''), harness.origin)).rejects.toThrow('403');
    await expect(connect(socketUrl(harness.token), 'http://evil.example')).rejects.toThrow('403');
  });
});
