/**
 * The contract's method and event names, and their IPC channels, without the contract's schemas.
 *
 * What builds `window.loopback` (createBridge, in the preload and in the web harness's bridge)
 * and the renderer's client on it (createClient) need only the names: the services validate
 * every input. Importing contract.ts for them would run zod and the contract's schemas in the
 * window before the app's first paint (and put zod in the renderer's bundle). The names are
 * therefore listed here as well, and contract.ts checks at compile time that its `methods` and
 * `events` have exactly these keys: adding a method there without its name here (or the other
 * way round) does not typecheck.
 */

export const METHOD_NAMES = [
  'app.version',
  'host.tools',
  'image.create',
  'image.info',
  'image.partition',
  'image.format',
  'fs.list',
  'fs.mkdir',
  'fs.remove',
  'fs.rename',
  'fs.put',
  'fs.upload',
  'fs.get',
  'jobs.cancel',
  'loops.list',
  'loops.attach',
  'loops.detach',
  'loops.mount',
  'loops.unmount',
  'loops.cleanup',
  'qemu.commandLine',
  'qemu.start',
  'qemu.stop',
  'qemu.restart',
  'qemu.status',
  'qemu.list',
  'qemu.sendSerial',
  'bootloader.install',
  'recipe.validate',
  'recipe.save',
  'recipe.build',
  'run.recipeFor',
  'run.start',
  'run.stop',
  'run.status',
  'run.list',
  'run.setWatch',
  'run.rebuild',
] as const;

export const EVENT_NAMES = ['jobProgress', 'loopsChanged', 'qemuSerial', 'qemuLog', 'qemuExited', 'runChanged'] as const;

/** The same as contract.ts's MethodName and EventName (which it checks). */
export type ListedMethodName = (typeof METHOD_NAMES)[number];
export type ListedEventName = (typeof EVENT_NAMES)[number];

/** The IPC channel a method travels on; one per method, so the main process can check each. */
export const methodChannel = (name: ListedMethodName): string => `loopback:${name}`;
export const eventChannel = (name: ListedEventName): string => `loopback:event:${name}`;
