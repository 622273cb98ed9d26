/**
 * Binds the contract to the services over IPC: one channel per method, each payload validated by
 * `dispatch`, each sender checked against the app's own renderer URL.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { eventChannel, methodChannel, methodNames, type EventName, type EventPayload } from '../../shared/api/contract';
import { serializeError, LoopbackError, type CallResult } from '../../shared/errors';
import { dispatch, type Handlers } from '../services';
import { isTrustedRendererUrl } from './security';

export function registerIpcHandlers(handlers: Handlers, rendererUrl: () => string): void {
  for (const name of methodNames) {
    ipcMain.handle(methodChannel(name), async (event: IpcMainInvokeEvent, payload: unknown): Promise<CallResult<unknown>> => {
      const frameUrl = event.senderFrame?.url ?? '';
      if (!isTrustedRendererUrl(frameUrl, rendererUrl())) {
        return { ok: false, error: serializeError(new LoopbackError('FORBIDDEN', `IPC from an unexpected sender refused: ${frameUrl}`)) };
      }
      return dispatch(handlers, name, payload);
    });
  }
}

export function sendEvent<E extends EventName>(targets: Iterable<WebContents>, event: E, payload: EventPayload<E>): void {
  for (const contents of targets) {
    if (!contents.isDestroyed()) contents.send(eventChannel(event), payload);
  }
}
