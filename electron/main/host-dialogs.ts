/**
 * The main process's side of `window.loopbackHost` (shared/api/host-bridge.ts): native open and
 * save dialogs, and opening a folder in the file manager. Each request is checked like the
 * contract's: only our own renderer may ask.
 */
import { isAbsolute } from 'node:path';
import { BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent, type OpenDialogOptions } from 'electron';
import { HOST_CHANNELS, type ChoosePathRequest } from '../../shared/api/host-bridge';
import { isTrustedRendererUrl } from './security';

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

export function registerHostDialogs(rendererUrl: () => string): void {
  ipcMain.handle(HOST_CHANNELS.choosePath, async (event, request: unknown): Promise<string | null> => {
    checkSender(event, rendererUrl);
    if (!isRequest(request)) throw new Error('not a dialog request');
    const window = BrowserWindow.fromWebContents(event.sender) ?? undefined;
    const common = { ...(request.title ? { title: request.title } : {}), ...(request.defaultPath ? { defaultPath: request.defaultPath } : {}) };
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
    if (typeof path !== 'string' || !isAbsolute(path)) throw new Error('an absolute folder path');
    const failure = await shell.openPath(path);
    if (failure) throw new Error(failure);
  });
}
