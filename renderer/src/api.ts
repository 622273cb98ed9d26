/**
 * The renderer's only door to the services: `window.loopback` (from the preload in Electron, from
 * the harness's bridge in a browser), wrapped so that calls throw LoopbackError on failure.
 */
import { createClient, type LoopbackBridge, type LoopbackClient } from '../../shared/api/bridge';

declare global {
  interface Window {
    loopback: LoopbackBridge;
  }
}

let client: LoopbackClient | null = null;

export function api(): LoopbackClient {
  if (!client) {
    if (!window.loopback) {
      throw new Error('window.loopback is missing: open the app through Electron (npm start) or the web harness (npm run web).');
    }
    client = createClient(window.loopback);
  }
  return client;
}
