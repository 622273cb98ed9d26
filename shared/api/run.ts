/**
 * The developer's inner loop as part of the API contract (issue 15): a *run* builds an image from
 * its recipe when it is out of date, boots it, and with `watch` rebuilds what changed and boots
 * again whenever the recipe or one of its sources changes. The app's Run button and
 * `loopstudio run` are the same service (electron/services/dev-loop.ts).
 */
import { z } from 'zod';
import { QEMU_ARCHES, QEMU_MAX_CPUS, QEMU_MEMORY_MAX_MIB, QEMU_MEMORY_MIN_MIB } from './qemu-plain';
import { qemuCharTargetSchema } from './qemu';
import type { RunStatus } from './run-plain';

const hostPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

/** What QEMU gets besides the image and the gdb stub (the run owns those). */
export const runLaunchSchema = z
  .object({
    arch: z.enum(QEMU_ARCHES).optional(),
    media: z.enum(['auto', 'floppy', 'disk']).optional(),
    memoryMiB: z.number().int().min(QEMU_MEMORY_MIN_MIB).max(QEMU_MEMORY_MAX_MIB).optional(),
    cpus: z.number().int().min(1).max(QEMU_MAX_CPUS).optional(),
    serial: qemuCharTargetSchema.optional(),
    debugcon: qemuCharTargetSchema.optional(),
    guestErrors: z.boolean().optional(),
    noReboot: z.boolean().optional(),
    noShutdown: z.boolean().optional(),
    display: z.enum(['none', 'window']).optional(),
    accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    firmware: z.enum(['bios', 'uefi']).optional(),
    debugExit: z.boolean().optional(),
    snapshot: z.boolean().optional(),
  })
  .strict();
export type RunLaunchOptions = z.input<typeof runLaunchSchema>;

export const runStartSchema = z
  .object({
    /** The recipe; or give `image` and the recipe beside it is used (disk.img → disk.json). */
    recipe: hostPath.optional(),
    /** The image the recipe builds (default: the recipe's name with .img, beside it). */
    image: hostPath.optional(),
    /** Rebuild and boot again when the recipe or a source changes ("Rebuild on change"). */
    watch: z.boolean().optional(),
    /** QEMU's gdb stub (on a free port, 1234 when it is free). */
    gdb: z.boolean().optional(),
    /** Freeze the CPU at start until gdb continues it (`-S`); implies gdb. */
    waitForGdb: z.boolean().optional(),
    gdbPort: z.number().int().min(1).max(65535).optional(),
    /** Replace an existing image that was not built by a run (it has no build state): see rebuild.ts. */
    force: z.boolean().optional(),
    /** Host folders the recipe may read besides its own. */
    allowOutside: z.array(hostPath).max(64).optional(),
    /** How long the sources must be quiet before a rebuild (a compiler writes in pieces). Default 50 ms. */
    settleMs: z.number().int().min(0).max(10_000).optional(),
    launch: runLaunchSchema.optional(),
  })
  .strict()
  .refine((v) => v.recipe !== undefined || v.image !== undefined, { message: 'give the recipe, or the image whose recipe is beside it' });
export type RunStartOptions = z.input<typeof runStartSchema>;

export const runIdSchema = z.object({ runId: z.string().min(1).max(64) }).strict();
export const runSetWatchSchema = z.object({ runId: z.string().min(1).max(64), watch: z.boolean() }).strict();
export const runRecipeForSchema = z.object({ image: hostPath }).strict();

export type { RunChange, RunReport, RunState, RunStatus } from './run-plain';

/** The payload of runChanged: the whole status, each time (it is small). */
export const runChangedEventSchema = z.custom<RunStatus>((value) => typeof value === 'object' && value !== null && 'runId' in value);
