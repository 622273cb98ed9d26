/**
 * The API contract between the UI and the services: every method's name, input schema and result
 * type, and every event. Written once, here; the Electron main process registers a handler per
 * method from it, the preload exposes one function per method from it, and the web harness builds
 * its `window.loopback` from it too. Later features add entries to `methods` and `events`.
 */
import { z } from 'zod';
import type { DiskInfo } from '../disk/disk-info';
import type { ImageShape } from '../disk/image-shape';
import type { HostToolsReport } from '../host/tools';

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
const imagePath = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

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
  'image.info': method<DiskInfo & { path: string }>()(
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
        alignmentSectors: z.number().int().min(1).max(2 ** 32).optional(),
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
  'jobs.cancel': method<{ cancelled: boolean }>()(
    'Ask a running job to stop; it ends in the "cancelled" state once it has left things consistent',
    z.object({ jobId: z.string().min(1).max(64) }).strict(),
  ),
} as const;

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
  error: z
    .object({ code: z.string(), message: z.string() })
    .optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** Events from the services to the UI. Each is exposed as `on<Name>(listener)` on window.loopback. */
export const events = {
  jobProgress: jobProgressSchema,
} as const;

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

/** The IPC channel a method travels on; one per method, so the main process can check each. */
export const methodChannel = (name: MethodName): string => `loopback:${name}`;
export const eventChannel = (name: EventName): string => `loopback:event:${name}`;
