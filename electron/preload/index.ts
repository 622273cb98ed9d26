/**
 * Exposes `window.loopback`: one named function per contract method and one `on<Event>` per
 * event, built from the contract by createBridge. The renderer never sees ipcRenderer nor
 * Electron's event objects.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from '../../shared/api/bridge';
import { eventChannel, methodChannel } from '../../shared/api/contract';
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
