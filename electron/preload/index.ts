/**
 * Exposes `window.loopback`: one named function per contract method and one `on<Event>` per
 * event, built from the contract by createBridge. The renderer never sees ipcRenderer nor
 * Electron's event objects.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createBridge } from '../../shared/api/bridge';
// names.ts, not contract.ts: the preload runs before the page, and needs no schemas (the main
// process validates every call), so it does not load zod.
import { eventChannel, methodChannel } from '../../shared/api/names';
import { HOST_CHANNELS, type ChoosePathRequest, type HostBridgeShape } from '../../shared/api/host-bridge';
import type { CallResult } from '../../shared/errors';

const bridge = createBridge({
  invoke: (name, input) => ipcRenderer.invoke(methodChannel(name), input) as Promise<CallResult<unknown>>,
  subscribe: (event, listener) => {
    const wrapped = (_event: Electron.IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(eventChannel(event), wrapped);
    return () => {
      ipcRenderer.removeListener(eventChannel(event), wrapped);
    };
  },
});

contextBridge.exposeInMainWorld('loopback', bridge);

// Beside the contract: native dialogs, and the host path of a file dropped on the window.
const host: HostBridgeShape<File> = {
  pathForFile: (file) => {
    const path = webUtils.getPathForFile(file);
    return path === '' ? null : path;
  },
  choosePath: (request: ChoosePathRequest) => ipcRenderer.invoke(HOST_CHANNELS.choosePath, request) as Promise<string | null>,
  openFolder: async (path: string) => {
    await ipcRenderer.invoke(HOST_CHANNELS.openFolder, path);
  },
};
contextBridge.exposeInMainWorld('loopbackHost', host);
