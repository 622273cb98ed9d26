/**
 * The API contract between the UI and the services: every method's name, input schema and result
 * type, and every event. Written here; the Electron main process registers a handler per
 * method from it, the preload exposes one function per method from it, and the web harness builds
 * its `window.loopback` from it too. Later features add entries to `methods` and `events`, and
 * their names to names.ts (the bridges are built from the names alone, without zod; a name missing
 * on either side does not typecheck).
 */
import { z } from 'zod';
import type { BootCode } from '../boot/detect';
import type { DiskInfo, PartitionInfo } from '../disk/disk-info';
import type { ImageShape } from '../disk/image-shape';
import type { ErrorCode } from '../errors';
import type { DirEntry, FsUsage } from '../fs/types';
import type { HostToolsReport } from '../host/tools';
import type { IsoImageInfo } from './iso';
import {
  fsGetSchema,
  fsListSchema,
  fsMkdirSchema,
  fsPutSchema,
  fsRemoveSchema,
  fsRenameSchema,
  fsUploadSchema,
  imageFormatSchema,
  type FormatResult,
  type GetResult,
  type MountVia,
  type PutResult,
} from './files';
import {
  bootloaderInstallSchema,
  recipeBuildSchema,
  recipeSaveSchema,
  recipeValidateSchema,
  type BootloaderResult,
  type BuildResult,
  type RecipeValidation,
} from './boot';
import { loopsStateSchema, type LoopActionResult, type LoopsState } from './loops';
import {
  qemuExitedEventSchema,
  qemuLaunchSchema,
  qemuLogEventSchema,
  qemuSerialEventSchema,
  type QemuCommand,
  type QemuSession,
  type QemuSessionStatus,
} from './qemu';
import { runChangedEventSchema, runIdSchema, runRecipeForSchema, runSetWatchSchema, runStartSchema, type RunStatus } from './run';
import type { ListedEventName, ListedMethodName } from './names';

export { methodChannel, eventChannel } from './names';

/**
 * An image described for the app: the disk, and each partition's filesystem usage. A filesystem
 * that cannot be read (damaged, or crafted) does not hide the rest: its volume has `filesystem`
 * null and says why in `error` (`filesystemError` for a whole-image volume: a top-level `error`
 * would read as the command's own failure in `--json` output).
 */
export interface ImageInfo extends Omit<DiskInfo, 'partitions'> {
  path: string;
  partitions: (PartitionInfo & { filesystem: FsUsage | null; error?: VolumeError })[];
  filesystem: FsUsage | null;
  filesystemError?: VolumeError;
  /** The boot code in sector 0 (GRUB 2 and where its core.img is, GRUB legacy, a boot sector, none). */
  boot?: BootCode;
  /**
   * Set for an ISO 9660 image (found at byte 32768, before any MBR): its volume, boot entries and
   * hybrid MBR. Its files are read as the whole image's (no partition); it is never written.
   */
  iso?: IsoImageInfo;
}

/** Why a volume's filesystem could not be read. */
export interface VolumeError {
  code: ErrorCode;
  message: string;
}

/** A method's entry: the zod schema of its input, and (as a phantom type) its result. */
export interface MethodSpec<I extends z.ZodType, R> {
  input: I;
  /** Never read at run time; carries the result type for the typed bridge. */
  readonly result?: R;
  summary: string;
}

function method<R>() {
  return <I extends z.ZodType>(summary: string, input: I): MethodSpec<I, R> => ({ input, summary });
}

export interface AppVersion {
  name: string;
  version: string;
  /** Electron's version when running inside Electron, null under the CLI or the web harness. */
  electron: string | null;
  node: string;
  platform: string;
  arch: string;
  /** Which transport serves this UI: the Electron app, or the web harness in a browser. */
  shell: 'electron' | 'web' | 'cli';
}

/** An image file's path on the host: absolute, or relative to the services' working folder. */
const imagePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

/** A QEMU session's id, as qemu.start answered it. */
const qemuSessionId = z.string().min(1).max(64);

/** A partition number: 1–4 primary, 5… logical (MBR); the entry number (GPT). */
const partitionNumber = z.number().int().min(1).max(128);

export const methods = {
  'app.version': method<AppVersion>()('Versions of the app and its runtime', z.object({}).strict()),
  'host.tools': method<HostToolsReport>()(
    'Which host programs exist, with versions and install hints',
    z.object({ refresh: z.boolean().optional() }).strict(),
  ),
  'image.create': method<ImageShape & { path: string; allocatedBytes: number }>()(
    'Create an empty sparse image file: a floppy preset, or a hard disk by size or C/H/S',
    z
      .object({
        path: imagePath,
        size: z.union([z.string().min(1).max(40), z.number().int().positive()]).optional(),
        chs: z.string().min(1).max(40).optional(),
        floppy: z.string().min(1).max(10).optional(),
        force: z.boolean().optional(),
      })
      .strict()
      .refine((v) => [v.size, v.chs, v.floppy].filter((x) => x !== undefined).length === 1, {
        message: 'give exactly one of size, chs, floppy',
      }),
  ),
  'image.info': method<ImageInfo>()(
    'Describe an image: size, geometry, partition table, partitions',
    z.object({ path: imagePath }).strict(),
  ),
  'image.partition': method<{ path: string; before: DiskInfo; after: DiskInfo }>()(
    'Apply partition edits (add, delete, set) in order, validated together, written once',
    z
      .object({
        path: imagePath,
        table: z.enum(['mbr', 'gpt']).optional(),
        fresh: z.boolean().optional(),
        alignmentSectors: z
          .number()
          .int()
          .min(1)
          .max(2 ** 32)
          .optional(),
        /** Validate the edits and answer what the disk would look like, writing nothing. */
        dryRun: z.boolean().optional(),
        steps: z
          .array(
            z.discriminatedUnion('op', [
              z.object({ op: z.literal('add'), spec: z.string().min(1).max(400) }).strict(),
              z.object({ op: z.literal('delete'), number: z.string().min(1).max(4) }).strict(),
              z.object({ op: z.literal('set'), number: z.string().min(1).max(4), settings: z.string().min(1).max(400) }).strict(),
            ]),
          )
          .max(256),
      })
      .strict(),
  ),
  'image.format': method<FormatResult>()(
    'Format a volume (a job): FAT12/16/32 or ext2 on the whole image (a floppy) or one partition; the partition type is set when it does not say the filesystem (or kept, with a warning, with `partitionType: keep`)',
    imageFormatSchema,
  ),
  // Every fs.* result has `via` when it went through the volume's mount (see MountVia).
  'fs.list': method<{ path: string; entries: DirEntry[]; via?: MountVia }>()(
    'A folder of a volume: names, types, sizes, dates',
    fsListSchema,
  ),
  'fs.mkdir': method<{ path: string; via?: MountVia }>()('Make a folder in a volume (and its parents with `parents`)', fsMkdirSchema),
  'fs.remove': method<{ path: string; via?: MountVia }>()(
    'Delete a file, an empty folder, or with `recursive` a whole tree, from a volume',
    fsRemoveSchema,
  ),
  'fs.rename': method<{ from: string; to: string; via?: MountVia }>()('Rename or move a file or folder within a volume', fsRenameSchema),
  'fs.put': method<PutResult>()(
    'Copy host files and folders into a volume (a job, like `cp -r`); checked before the first byte: names, space',
    fsPutSchema,
  ),
  'fs.upload': method<PutResult>()(
    'Copy files a browser sent as bytes (a dropped file or folder, at most 8 MiB per call) into a volume (a job), with the same checks as fs.put',
    fsUploadSchema,
  ),
  'fs.get': method<GetResult & { via?: MountVia }>()(
    'Copy a file or folder out of a volume to a host folder (a job); names the host cannot hold are skipped and listed, existing files replaced only with `overwrite`',
    fsGetSchema,
  ),
  'jobs.cancel': method<{ cancelled: boolean }>()(
    'Ask a running job to stop; it ends in the "cancelled" state once it has left things consistent',
    z.object({ jobId: z.string().min(1).max(64) }).strict(),
  ),
  'loops.list': method<LoopsState>()(
    'The loop devices and mounts Loopback Studio made, as the system shows them now; leftovers are marked',
    z.object({}).strict(),
  ),
  'loops.attach': method<LoopActionResult>()(
    'Attach an image, or one partition of it, to a loop device (as root, after one password prompt)',
    z
      .object({
        path: imagePath,
        partition: partitionNumber.optional(),
        partscan: z.boolean().optional(),
        readOnly: z.boolean().optional(),
      })
      .strict(),
  ),
  'loops.detach': method<LoopActionResult>()(
    'Detach a loop device that Loopback Studio attached (not one that is mounted)',
    z
      .object({
        device: z
          .string()
          .min(1)
          .max(256)
          .regex(/^\/dev\/[A-Za-z0-9]+$/, 'a device path like /dev/loop0'),
      })
      .strict(),
  ),
  'loops.mount': method<LoopActionResult>()(
    'Attach and mount an image or partition for the user, under the mount root unless a folder is given',
    z
      .object({ path: imagePath, partition: partitionNumber.optional(), dir: imagePath.optional(), readOnly: z.boolean().optional() })
      .strict(),
  ),
  'loops.unmount': method<LoopActionResult>()(
    'sync, unmount and detach what Loopback Studio mounted at a folder, or from an image',
    z.object({ target: imagePath }).strict(),
  ),
  'loops.cleanup': method<LoopActionResult>()(
    'Release leftovers (or the entries named): unmount and detach, one password prompt',
    z.object({ ids: z.array(z.string().min(1).max(4200)).max(256).optional() }).strict(),
  ),
  'qemu.commandLine': method<QemuCommand>()(
    'The QEMU command a launch would run (program and arguments, and the same as a copyable shell line); starts nothing',
    qemuLaunchSchema,
  ),
  'qemu.start': method<QemuSession>()(
    'Boot an image (or a kernel) in QEMU as a new session; its console streams as qemuSerial events',
    qemuLaunchSchema,
  ),
  'qemu.stop': method<QemuSession>()(
    'Stop a QEMU session: SIGTERM, then SIGKILL after a grace period; answers once it has exited',
    z.object({ sessionId: qemuSessionId, graceMs: z.number().int().min(0).max(60_000).optional() }).strict(),
  ),
  'qemu.restart': method<QemuSession>()(
    'Stop a QEMU session (if it runs) and start the same launch again, as a new session',
    z.object({ sessionId: qemuSessionId }).strict(),
  ),
  'qemu.status': method<QemuSessionStatus>()(
    'One QEMU session: its state, command and exit, and the end of its console output',
    z.object({ sessionId: qemuSessionId }).strict(),
  ),
  'qemu.list': method<{ sessions: QemuSession[] }>()(
    'The QEMU sessions of this run: running ones and recently exited ones',
    z.object({}).strict(),
  ),
  'qemu.sendSerial': method<{ bytes: number }>()(
    'Type into a running session’s serial port (the console’s input)',
    z
      .object({
        sessionId: qemuSessionId,
        data: z
          .string()
          .min(1)
          .max(64 * 1024),
      })
      .strict(),
  ),
  'bootloader.install': method<BootloaderResult>()(
    'Make an image bootable without root: GRUB 2 (core.img after the MBR), GRUB legacy (stage1/stage2, setup done natively) or your own boot sector',
    bootloaderInstallSchema,
  ),
  'recipe.validate': method<RecipeValidation>()(
    'Check a recipe (JSON) against the host without writing anything; answers what it builds and the equivalent shell script',
    recipeValidateSchema,
  ),
  'recipe.save': method<{ path: string }>()(
    'Write a recipe (JSON) that loopstudio build replays; checked against the recipe schema first, never over an existing file unless forced',
    recipeSaveSchema,
  ),
  'recipe.build': method<BuildResult>()(
    'Build the image a recipe describes (a job): create, partition, format, copy files, install the boot loader',
    recipeBuildSchema,
  ),
  'run.recipeFor': method<{ recipe: string | null; image: string }>()(
    'The recipe beside an image (disk.img → disk.json), if there is one: the app offers Run then',
    runRecipeForSchema,
  ),
  'run.start': method<RunStatus>()(
    'Build the image from its recipe when it is out of date and boot it; with watch, rebuild what changed and boot again on every change of the recipe or a source',
    runStartSchema,
  ),
  'run.stop': method<RunStatus>()('Stop a run: its QEMU and its watch; the image is left as the last build made it', runIdSchema),
  'run.status': method<RunStatus>()('A run: its state, QEMU session, last rebuild and last build error', runIdSchema),
  'run.list': method<{ runs: RunStatus[] }>()('The runs of this app, running and recently stopped', z.object({}).strict()),
  'run.setWatch': method<RunStatus>()('Turn "Rebuild on change" on or off for a running run', runSetWatchSchema),
  'run.rebuild': method<RunStatus>()('Rebuild now (only what changed) and boot again, whether or not anything changed', runIdSchema),
} as const satisfies { [K in ListedMethodName]: MethodSpec<z.ZodType, unknown> };

export const jobStateSchema = z.enum(['running', 'done', 'failed', 'cancelled']);

export const jobProgressSchema = z.object({
  jobId: z.string(),
  /** What the job does, for a person: "Format partition 1 as FAT32". */
  title: z.string(),
  /** The step now running: "writing FATs", "copying files". */
  phase: z.string(),
  state: jobStateSchema,
  bytesDone: z.number().nonnegative(),
  bytesTotal: z.number().nonnegative(),
  itemsDone: z.number().nonnegative().optional(),
  itemsTotal: z.number().nonnegative().optional(),
  /** Set when state is "failed". */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** Events from the services to the UI. Each is exposed as `on<Name>(listener)` on window.loopback. */
export const events = {
  jobProgress: jobProgressSchema,
  /** The loop devices and mounts changed (an action, a cleanup, leftovers found at start). */
  loopsChanged: loopsStateSchema,
  /** A QEMU session's console output (its stdio: the serial port), batched every few milliseconds. */
  qemuSerial: qemuSerialEventSchema,
  /** QEMU's own messages on stderr: warnings, errors, `-d guest_errors` when it has no log file. */
  qemuLog: qemuLogEventSchema,
  /** A QEMU session ended: its exit status or signal, and the end of its stderr. */
  qemuExited: qemuExitedEventSchema,
  /** A run changed: building, booted, rebuilt (what changed, how long), a build error, stopped. */
  runChanged: runChangedEventSchema,
} as const satisfies { [E in ListedEventName]: z.ZodType };

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<K extends MethodName> = z.input<Methods[K]['input']>;
export type MethodParsedInput<K extends MethodName> = z.output<Methods[K]['input']>;
export type MethodResult<K extends MethodName> = NonNullable<Methods[K]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.infer<Events[E]>;

export const methodNames = Object.keys(methods) as MethodName[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}
