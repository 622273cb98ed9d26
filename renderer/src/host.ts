/**
 * `window.loopbackHost`: what only the desktop app offers beside the contract (native dialogs, a
 * dropped file's host path, opening a folder). Absent in a browser (the web harness): callers
 * fall back to typed paths and to sending a dropped file's bytes.
 */
import type { HostBridgeShape } from '../../shared/api/host-bridge';

export type HostBridge = HostBridgeShape<File>;

declare global {
  interface Window {
    loopbackHost?: HostBridge;
  }
}

export function hostBridge(): HostBridge | null {
  return window.loopbackHost ?? null;
}
