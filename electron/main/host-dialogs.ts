/**
 * The main process's side of `window.loopbackHost` (shared/api/host-bridge.ts): native open and
 * save dialogs, and opening one of our mount folders in the file manager. Each request is checked
 * like the contract's: only our own renderer may ask.
 */
import { stat } from 'node:fs/promises';
import { BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent, type OpenDialogOptions } from 'electron';
import { HOST_CHANNELS, type ChoosePathRequest } from '../../shared/api/host-bridge';
import { isOpenableFolder, isTrustedRendererUrl } from './security';

const IMAGE_FILTERS = [
  { name: 'Disk images', extensions: ['img', 'ima', 'bin', 'raw', 'iso', 'hdd', 'dsk', 'flp', 'vfd'] },
  { name: 'All files', extensions: ['*'] },
];

function checkSender(event: IpcMainInvokeEvent, rendererUrl: () => string): void {
  const frameUrl = event.senderFrame?.url ?? '';
  if (!isTrustedRendererUrl(frameUrl, rendererUrl())) throw new Error(`request from an unexpected sender refused: ${frameUrl}`);
}

function isRequest(value: unknown): value is ChoosePathRequest {
  const v = value as ChoosePathRequest;
  return (
    typeof v === 'object' &&
    v !== null &&
    ['open-image', 'save-image', 'folder', 'file'].includes(v.mode) &&
    (v.title === undefined || typeof v.title === 'string') &&
    (v.defaultPath === undefined || typeof v.defaultPath === 'string')
  );
}

/** Where our mounts are: the only folders the renderer may have opened. */
export type MountPlaces = () => Promise<{ mountRoot: string; mountDirs: string[] }>;

export function registerHostDialogs(rendererUrl: () => string, mountPlaces: MountPlaces): void {
  ipcMain.handle(HOST_CHANNELS.choosePath, async (event, request: unknown): Promise<string | null> => {
    checkSender(event, rendererUrl);
    if (!isRequest(request)) throw new Error('not a dialog request');
    const window = BrowserWindow.fromWebContents(event.sender) ?? undefined;
    const common = {
      ...(request.title ? { title: request.title } : {}),
      ...(request.defaultPath ? { defaultPath: request.defaultPath } : {}),
    };
    if (request.mode === 'save-image') {
      const options = { ...common, filters: IMAGE_FILTERS, properties: ['createDirectory' as const, 'showOverwriteConfirmation' as const] };
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    }
    const options: OpenDialogOptions = {
      ...common,
      ...(request.mode === 'open-image' ? { filters: IMAGE_FILTERS } : {}),
      properties: request.mode === 'folder' ? ['openDirectory', 'createDirectory'] : ['openFile'],
    };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  ipcMain.handle(HOST_CHANNELS.openFolder, async (event, path: unknown): Promise<void> => {
    checkSender(event, rendererUrl);
    // Only our mount folders, and only folders: shell.openPath runs a file's default program.
    if (typeof path !== 'string' || !isOpenableFolder(path, await mountPlaces()))
      throw new Error('only a mount folder of Loopback Studio can be opened');
    if (!(await stat(path)).isDirectory()) throw new Error(`${path} is not a folder`);
    const failure = await shell.openPath(path);
    if (failure) throw new Error(failure);
  });
}
