/**
 * The loop engine as the app sees it: the loop devices and mounts Loopback Studio made (from
 * loops.list and the loopsChanged event), whether acting needs a password prompt, and the
 * mount / unmount / cleanup actions, each logged with the commands it ran as root.
 */
import { create } from 'zustand';
import type { LoopActionResult, LoopEntry, LoopsState } from '../../../shared/api/loops';
import { mountCommands } from '../../../shared/commands/equivalents';
import { shellQuote } from '../../../shared/util/shell-quote';
import { api } from '../api';
import { basename } from '../features/common/format';
import { logError, logInfo } from './activity';

export interface LoopsStoreState {
  state: LoopsState | null;
  /** What is running: "Mounting partition 1 of disk.img". */
  busy: string | null;
  error: string | null;
}

export const initialLoopsState: LoopsStoreState = { state: null, busy: null, error: null };

export const useLoopsStore = create<LoopsStoreState>()(() => initialLoopsState);

export function resetLoopsStore(): void {
  useLoopsStore.setState(initialLoopsState, true);
}

export async function loadLoops(): Promise<void> {
  try {
    useLoopsStore.setState({ state: await api().loops.list({}) });
  } catch (error) {
    useLoopsStore.setState({ error: logError(error, 'Listing loop devices').text });
  }
}

/** The mount of an image's volume (partition null: the whole image), if Loopback Studio made one. */
export function mountOf(state: LoopsState | null, image: string, partition: number | null): LoopEntry | null {
  return state?.entries.find((e) => e.kind === 'mount' && e.image === image && e.partition === partition && e.live.mounted) ?? null;
}

function lines(result: LoopActionResult, cli: string[]): string[] {
  return [
    ...cli,
    ...(result.commands.length ? ['# what ran as root:', ...result.commands] : []),
    ...(result.equivalent?.lines.length ? ['# the same by hand:', ...result.equivalent.lines] : []),
    ...(result.equivalent?.oneStep ? ['# or in one step:', result.equivalent.oneStep] : []),
  ];
}

async function act(what: string, work: () => Promise<LoopActionResult>, cli: string[] = []): Promise<LoopActionResult | null> {
  useLoopsStore.setState({ busy: what, error: null });
  try {
    const result = await work();
    logInfo(`${what}: done${result.mountDir ? ` — mounted at ${result.mountDir}` : ''}`, lines(result, cli));
    await loadLoops();
    return result;
  } catch (error) {
    useLoopsStore.setState({ error: logError(error, what).text });
    return null;
  } finally {
    useLoopsStore.setState({ busy: null });
  }
}

export function mountVolume(image: string, partition: number | null): Promise<LoopActionResult | null> {
  const name = partition === null ? basename(image) : `partition ${partition} of ${basename(image)}`;
  return act(
    `Mount ${name}`,
    () => api().loops.mount({ path: image, ...(partition === null ? {} : { partition }) }),
    mountCommands(image, partition),
  );
}

export function unmountVolume(entry: LoopEntry): Promise<LoopActionResult | null> {
  const target = entry.mountDir ?? entry.image;
  return act(`Unmount ${entry.mountDir ?? entry.device ?? basename(entry.image)}`, () => api().loops.unmount({ target }), [
    `loopstudio umount ${shellQuote(target)}`,
  ]);
}

export function cleanupLeftovers(): Promise<LoopActionResult | null> {
  return act('Release leftover loop devices', () => api().loops.cleanup({}), ['loopstudio cleanup']);
}

let unsubscribe: (() => void) | null = null;

export function startLoopsEvents(): void {
  if (unsubscribe) return;
  unsubscribe = api().onLoopsChanged((state) => useLoopsStore.setState({ state }));
}
