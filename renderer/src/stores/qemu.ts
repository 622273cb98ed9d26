/**
 * QEMU sessions as the app sees them: the launch options per image, each session's state, the
 * command line a launch would run, and QEMU's own messages. The console's bytes do not go
 * through React state: the serial console component subscribes to them directly (onSerial), so a
 * chatty guest does not re-render the page.
 */
import { create } from 'zustand';
import type { QemuCommand, QemuLaunchOptions, QemuSession } from '../../../shared/api/qemu';
import { QEMU_DEFAULT_MEMORY_MIB } from '../../../shared/api/qemu-plain';
import { api } from '../api';
import { errorText } from '../features/common/errors';
import { basename } from '../features/common/format';
import { logError, logInfo } from './activity';

/** What the panel lets a person choose (the image comes from the view). */
export type LaunchChoices = Omit<QemuLaunchOptions, 'image' | 'kernel' | 'append'>;

export const DEFAULT_CHOICES: LaunchChoices = {
  memoryMiB: QEMU_DEFAULT_MEMORY_MIB,
  media: 'auto',
  accel: 'auto',
  gdb: false,
  waitForGdb: false,
  guestErrors: false,
  noReboot: true,
};

export interface QemuState {
  choices: Record<string, LaunchChoices>;
  sessions: Record<string, QemuSession>;
  /** The latest session of each image. */
  sessionOf: Record<string, string>;
  /** QEMU's stderr per session (warnings, errors, guest_errors). */
  logs: Record<string, string>;
  command: Record<string, QemuCommand | null>;
  commandError: Record<string, string | null>;
  busy: boolean;
  error: string | null;
}

export const initialQemuState: QemuState = {
  choices: {},
  sessions: {},
  sessionOf: {},
  logs: {},
  command: {},
  commandError: {},
  busy: false,
  error: null,
};

export const useQemuStore = create<QemuState>()(() => initialQemuState);

export function resetQemuStore(): void {
  useQemuStore.setState(initialQemuState, true);
}

const LOG_MAX = 16 * 1024;
/** What a console that opens late replays. */
const CONSOLE_MAX = 256 * 1024;
const consoles = new Map<string, string>();
const serialListeners = new Set<(sessionId: string, data: string) => void>();

export function consoleText(sessionId: string): string {
  return consoles.get(sessionId) ?? '';
}

export function onSerial(listener: (sessionId: string, data: string) => void): () => void {
  serialListeners.add(listener);
  return () => serialListeners.delete(listener);
}

export function choicesFor(image: string): LaunchChoices {
  return useQemuStore.getState().choices[image] ?? DEFAULT_CHOICES;
}

export function setChoices(image: string, patch: Partial<LaunchChoices>): void {
  useQemuStore.setState((s) => ({ choices: { ...s.choices, [image]: { ...(s.choices[image] ?? DEFAULT_CHOICES), ...patch } } }));
}

function launchOptions(image: string): QemuLaunchOptions {
  const c = choicesFor(image);
  return { image, ...c, ...(c.waitForGdb ? { gdb: true } : {}) };
}

/** Images whose launch (start or restart) is under way. */
const launching = new Set<string>();

/**
 * Whether the image runs in QEMU or is being launched. The services then refuse a second launch of
 * it — rightly — and so refuse to preview one: the panel shows the running session's own command
 * line instead, and the preview waits for the session to end.
 */
export function imageInQemu(image: string, state: Pick<QemuState, 'sessionOf' | 'sessions'> = useQemuStore.getState()): boolean {
  if (launching.has(image)) return true;
  const id = state.sessionOf[image];
  const session = id ? state.sessions[id] : undefined;
  return session?.state === 'running' || session?.state === 'stopping';
}

/** The command the current choices would run (shown and copyable before Start). */
export async function refreshCommandLine(image: string): Promise<void> {
  if (imageInQemu(image)) return;
  try {
    const command = await api().qemu.commandLine(launchOptions(image));
    useQemuStore.setState((s) => ({ command: { ...s.command, [image]: command }, commandError: { ...s.commandError, [image]: null } }));
  } catch (error) {
    // A launch that started while the preview was asked for: not a problem with the options.
    if (imageInQemu(image)) return;
    useQemuStore.setState((s) => ({
      command: { ...s.command, [image]: null },
      commandError: { ...s.commandError, [image]: errorText(error) },
    }));
  }
}

function putSession(session: QemuSession): void {
  useQemuStore.setState((s) => ({
    sessions: { ...s.sessions, [session.sessionId]: session },
    ...(session.image ? { sessionOf: { ...s.sessionOf, [session.image]: session.sessionId } } : {}),
  }));
}

async function act(what: string, work: () => Promise<QemuSession>, image: string | null = null): Promise<void> {
  useQemuStore.setState({ busy: true, error: null });
  if (image) launching.add(image);
  try {
    const session = await work();
    consoles.set(session.sessionId, consoles.get(session.sessionId) ?? '');
    putSession(session);
    logInfo(`${what}: ${session.state === 'running' ? `QEMU running (pid ${session.pid})` : session.state}`, [session.commandLine]);
  } catch (error) {
    useQemuStore.setState({ error: logError(error, what).text });
  } finally {
    if (image) launching.delete(image);
    useQemuStore.setState({ busy: false });
  }
}

export function startQemu(image: string): Promise<void> {
  return act(`Launch ${basename(image)} in QEMU`, () => api().qemu.start(launchOptions(image)), image);
}

export function stopQemu(sessionId: string): Promise<void> {
  return act('Stop QEMU', () => api().qemu.stop({ sessionId }));
}

export function restartQemu(sessionId: string): Promise<void> {
  return act('Restart QEMU', () => api().qemu.restart({ sessionId }), useQemuStore.getState().sessions[sessionId]?.image ?? null);
}

export async function sendSerial(sessionId: string, data: string): Promise<void> {
  try {
    await api().qemu.sendSerial({ sessionId, data });
  } catch (error) {
    logError(error, 'Typing into the console');
  }
}

let unsubscribe: (() => void) | null = null;

/** Listens to the sessions' events for the life of the window (idempotent). */
export function startQemuEvents(): void {
  if (unsubscribe) return;
  const offSerial = api().onQemuSerial(({ sessionId, data }) => {
    consoles.set(sessionId, ((consoles.get(sessionId) ?? '') + data).slice(-CONSOLE_MAX));
    for (const listener of serialListeners) listener(sessionId, data);
  });
  const offLog = api().onQemuLog(({ sessionId, data }) => {
    useQemuStore.setState((s) => ({ logs: { ...s.logs, [sessionId]: ((s.logs[sessionId] ?? '') + data).slice(-LOG_MAX) } }));
  });
  const offExit = api().onQemuExited(({ sessionId, code, signal, stopped, stderr }) => {
    const session = useQemuStore.getState().sessions[sessionId];
    if (session) putSession({ ...session, state: 'exited', exitCode: code, signal, stopped, exitedAt: new Date().toISOString() });
    if (stderr && !useQemuStore.getState().logs[sessionId]) useQemuStore.setState((s) => ({ logs: { ...s.logs, [sessionId]: stderr } }));
  });
  unsubscribe = () => {
    offSerial();
    offLog();
    offExit();
  };
}
