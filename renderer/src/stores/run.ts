/**
 * Run (issue 15) as the app sees it: which open image has a recipe beside it, the run of each
 * image (its status from the runChanged event: building, running, the last rebuild, the last
 * build error), what the person chose ("Rebuild on change", Debug), and the run's console — the
 * serial output of each QEMU the run started, one after another, with a rule at each restart
 * (`— rebuilt 14:02:11: kernel.elf changed —`). The service does the work (dev-loop.ts); this
 * keeps what the panel shows.
 */
import { create } from 'zustand';
import type { RunStatus } from '../../../shared/api/run-plain';
import { api } from '../api';
import { LoopbackError } from '../../../shared/errors';
import { basename } from '../features/common/format';
import { logError, logInfo } from './activity';
import { choicesFor, consoleText, onSerial, sendSerial } from './qemu';

export interface RunChoices {
  /** "Rebuild on change": watch the recipe and its sources. */
  watch: boolean;
}

export interface RunStoreState {
  /** The recipe beside each image (null: none; absent: not looked up yet). */
  recipes: Record<string, string | null>;
  /** The latest run of each image. */
  runs: Record<string, RunStatus>;
  choices: Record<string, RunChoices>;
  busy: Record<string, boolean>;
  error: Record<string, string | null>;
  /** The image has no build state: what replacing it means, until the person confirms. */
  confirm: Record<string, { message: string; debug: boolean } | null>;
}

export const initialRunState: RunStoreState = { recipes: {}, runs: {}, choices: {}, busy: {}, error: {}, confirm: {} };

export const useRunStore = create<RunStoreState>()(() => initialRunState);

export function resetRunStore(): void {
  useRunStore.setState(initialRunState, true);
  segments.clear();
  listeners.clear();
}

export const DEFAULT_RUN_CHOICES: RunChoices = { watch: true };

export function runChoicesFor(image: string): RunChoices {
  return useRunStore.getState().choices[image] ?? DEFAULT_RUN_CHOICES;
}

const patch = <K extends keyof RunStoreState>(key: K, image: string, value: RunStoreState[K][string]) =>
  useRunStore.setState((s) => ({ [key]: { ...s[key], [image]: value } }) as Partial<RunStoreState>);

/** Looks for the recipe beside an image (disk.img → disk.json). */
export async function findRecipe(image: string): Promise<void> {
  try {
    const { recipe } = await api().run.recipeFor({ image });
    patch('recipes', image, recipe);
  } catch {
    patch('recipes', image, null);
  }
}

// --- The run's console: each QEMU's output in turn, a rule at each restart ---

interface Segment {
  sessionId: string;
  rule: string | null;
}

const segments = new Map<string, Segment[]>();
const listeners = new Map<string, Set<(data: string) => void>>();

function emit(runId: string, data: string): void {
  for (const listener of listeners.get(runId) ?? []) listener(data);
}

const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

/**
 * A rule between two sessions, then the screen pushed into the history (ED2, which the console
 * scrolls back rather than erasing: SerialConsole's scrollOnEraseInDisplay): a boot loader that
 * clears the screen as it starts (GRUB does) clears an empty one, and what came before stays.
 */
const ruleText = (rule: string) => `\r\n\x1b[2m${rule}\x1b[0m\r\n\x1b[2J\x1b[H`;

/** The rule between two QEMU sessions of a run. */
export function ruleFor(status: RunStatus): string {
  const report = status.lastReport;
  return report ? `— rebuilt ${clock(report.at)}: ${report.short} —` : '— restarted —';
}

/** What a console showing the run replays: every session's output, the rules between them. */
export function runConsoleText(runId: string): string {
  return (segments.get(runId) ?? []).map((s) => `${s.rule ? ruleText(s.rule) : ''}${consoleText(s.sessionId)}`).join('');
}

/** Listens to the run's console (new output, and rules as QEMU restarts). Returns the unsubscriber. */
export function onRunConsole(runId: string, listener: (data: string) => void): () => void {
  if (!listeners.has(runId)) listeners.set(runId, new Set());
  listeners.get(runId)!.add(listener);
  return () => listeners.get(runId)?.delete(listener);
}

/** Types into the run's current QEMU. */
export function sendRunSerial(image: string, data: string): void {
  const sessionId = useRunStore.getState().runs[image]?.sessionId;
  if (sessionId) void sendSerial(sessionId, data);
}

function applyStatus(status: RunStatus): void {
  const current = useRunStore.getState().runs[status.image];
  // The end of an older run of the same image is not news to a newer one.
  if (current && current.runId !== status.runId && status.state === 'stopped' && current.state !== 'stopped') return;
  patch('runs', status.image, status);
  if (status.sessionId) {
    const list = segments.get(status.runId) ?? [];
    if (!segments.has(status.runId)) segments.set(status.runId, list);
    if (list[list.length - 1]?.sessionId !== status.sessionId) {
      const rule = list.length ? ruleFor(status) : null;
      list.push({ sessionId: status.sessionId, rule });
      const earlier = consoleText(status.sessionId);
      if (rule || earlier) emit(status.runId, `${rule ? ruleText(rule) : ''}${earlier}`);
    }
  }
}

let unsubscribe: (() => void) | null = null;

/** Listens to runChanged and to the serial output of the runs' sessions (idempotent). */
export function startRunEvents(): void {
  if (unsubscribe) return;
  const offStatus = api().onRunChanged((status) => applyStatus(status));
  const offSerial = onSerial((sessionId, data) => {
    for (const [runId, list] of segments) if (list[list.length - 1]?.sessionId === sessionId) emit(runId, data);
  });
  unsubscribe = () => {
    offStatus();
    offSerial();
  };
  // A window opened (or reloaded) while runs go on shows them.
  void api()
    .run.list({})
    .then(({ runs }) => runs.forEach((status) => applyStatus(status)))
    .catch(() => {});
}

// --- Actions ---

/** Run: build when out of date, boot; with "Rebuild on change", watch. Debug adds the gdb stub, the CPU waiting for gdb. */
export async function startRun(image: string, options: { debug?: boolean; force?: boolean } = {}): Promise<void> {
  const recipe = useRunStore.getState().recipes[image];
  const { watch } = runChoicesFor(image);
  // The QEMU tab's choices that a run takes (it owns the image and the gdb stub).
  const c = choicesFor(image);
  const launch = Object.fromEntries(
    (
      [
        'arch',
        'media',
        'memoryMiB',
        'cpus',
        'serial',
        'debugcon',
        'guestErrors',
        'noReboot',
        'noShutdown',
        'display',
        'accel',
        'firmware',
      ] as const
    ).flatMap((key) => (c[key] !== undefined ? [[key, c[key]]] : [])),
  );
  patch('busy', image, true);
  patch('error', image, null);
  patch('confirm', image, null);
  try {
    const status = await api().run.start({
      image,
      ...(recipe ? { recipe } : {}),
      watch,
      ...(options.debug ? { gdb: true, waitForGdb: true } : {}),
      ...(options.force ? { force: true } : {}),
      launch,
    });
    applyStatus(status);
    logInfo(`Run ${basename(image)}: ${status.lastReport?.summary ?? 'started'}`, status.commandLine ? [status.commandLine] : []);
  } catch (error) {
    if (error instanceof LoopbackError && error.code === 'ALREADY_EXISTS' && !options.force) {
      patch('confirm', image, { message: error.message, debug: Boolean(options.debug) });
    } else {
      patch('error', image, logError(error, `Run ${basename(image)}`).text);
    }
  } finally {
    patch('busy', image, false);
  }
}

export async function stopRun(image: string): Promise<void> {
  const run = useRunStore.getState().runs[image];
  if (!run) return;
  patch('busy', image, true);
  try {
    applyStatus(await api().run.stop({ runId: run.runId }));
  } catch (error) {
    patch('error', image, logError(error, `Stop the run of ${basename(image)}`).text);
  } finally {
    patch('busy', image, false);
  }
}

/** Rebuilds now and boots again. */
export async function rebuildRun(image: string): Promise<void> {
  const run = useRunStore.getState().runs[image];
  if (!run) return;
  try {
    applyStatus(await api().run.rebuild({ runId: run.runId }));
  } catch (error) {
    patch('error', image, logError(error, `Rebuild ${basename(image)}`).text);
  }
}

/** "Rebuild on change": the choice for the next run, and the running one at once. */
export async function setRunWatch(image: string, watch: boolean): Promise<void> {
  patch('choices', image, { ...runChoicesFor(image), watch });
  const run = useRunStore.getState().runs[image];
  if (!run || run.state === 'stopped') return;
  try {
    applyStatus(await api().run.setWatch({ runId: run.runId, watch }));
  } catch (error) {
    patch('error', image, logError(error, 'Rebuild on change').text);
  }
}

export function cancelConfirm(image: string): void {
  patch('confirm', image, null);
}

/** Whether the image's run holds it now (its QEMU, or a rebuild between two). */
export function runActive(status: RunStatus | undefined): boolean {
  return !!status && status.state !== 'stopped';
}
