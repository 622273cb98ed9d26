/**
 * The web harness's `window.loopback`: the same bridge the preload builds (createBridge from the
 * contract), over a WebSocket to the harness on 127.0.0.1 instead of Electron's IPC.
 * Built by `npm run build` into out/web/bridge.js (scripts/bundles.ts); the harness serves it before
 * the renderer's own script.
 */
import { createBridge } from '../../shared/api/bridge';
import type { EventName } from '../../shared/api/contract';
import { LoopbackError, serializeError, type CallResult } from '../../shared/errors';

const TOKEN_KEY = 'loopback-harness-token';
const params = new URLSearchParams(location.search);
const token = params.get('token') ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
if (params.has('token')) {
  // Keep the token for reloads, but out of the address bar and the history.
  sessionStorage.setItem(TOKEN_KEY, token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
}

type Pending = { resolve: (result: CallResult<unknown>) => void };
const pending = new Map<number, Pending>();
const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
let nextId = 1;

const socket = new WebSocket(
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/__harness/ws?token=${encodeURIComponent(token)}`,
);
const opened = new Promise<void>((resolve, reject) => {
  socket.addEventListener('open', () => resolve());
  socket.addEventListener('error', () => reject(new Error('harness connection failed')));
});
socket.addEventListener('close', () => {
  const error = serializeError(
    new LoopbackError('IO', 'The connection to the Loopback Studio harness closed. Is `npm run web` still running?'),
  );
  for (const { resolve } of pending.values()) resolve({ ok: false, error });
  pending.clear();
});
socket.addEventListener('message', (message) => {
  const data = JSON.parse(String(message.data)) as { id: number; result: CallResult<unknown> } | { event: EventName; payload: unknown };
  if ('id' in data) {
    pending.get(data.id)?.resolve(data.result);
    pending.delete(data.id);
  } else {
    for (const listener of listeners.get(data.event) ?? []) listener(data.payload);
  }
});

(window as unknown as { loopback: unknown }).loopback = createBridge({
  invoke: async (name, input) => {
    try {
      await opened;
    } catch (error) {
      return { ok: false, error: serializeError(new LoopbackError('IO', (error as Error).message)) };
    }
    const id = nextId++;
    return new Promise<CallResult<unknown>>((resolve) => {
      pending.set(id, { resolve });
      socket.send(JSON.stringify({ id, method: name, input }));
    });
  },
  subscribe: (event, listener) => {
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    set.add(listener);
    return () => set.delete(listener);
  },
});
