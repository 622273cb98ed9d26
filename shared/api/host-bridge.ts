/**
 * What only the desktop app can do for its window, beside the contract: native file dialogs,
 * showing a folder in the file manager, and the host path of a file dropped on the window
 * (Electron's webUtils.getPathForFile, which only the preload may call). The preload exposes it
 * as `window.loopbackHost`; in a browser (the web harness) it is absent and the UI falls back to
 * typed paths and to sending dropped files' bytes (fs.upload).
 */

/** One IPC channel per request, so the main process can check each sender. */
export const HOST_CHANNELS = {
  choosePath: 'loopback-host:choose-path',
  openFolder: 'loopback-host:open-folder',
} as const;

export interface ChoosePathRequest {
  /** open: an existing image; save: where a new image goes; folder: a destination folder; file: any host file. */
  mode: 'open-image' | 'save-image' | 'folder' | 'file';
  title?: string;
  defaultPath?: string;
}

/** `window.loopbackHost`, typed for the renderer; the dropped file is the DOM's File. */
export interface HostBridgeShape<DroppedFile> {
  /** The host path of a file dropped on the window, or null (not a file from the host). */
  pathForFile(file: DroppedFile): string | null;
  /** A native dialog; null when the user cancelled. */
  choosePath(request: ChoosePathRequest): Promise<string | null>;
  /** Opens a folder (a mount point) in the system's file manager. */
  openFolder(path: string): Promise<void>;
}
