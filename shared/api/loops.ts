/**
 * The loop engine's part of the API contract: what the app knows about the loop devices and
 * mounts it made (recorded in a journal, checked against the live system), and what an action
 * answers (the commands it ran, the shell lines that do the same).
 */
import { z } from 'zod';

/** One loop device (and maybe its mount) that Loopback Studio made, as recorded and as it is now. */
export const loopEntrySchema = z.object({
  id: z.string(),
  /** 'attach': a loop device only; 'mount': a loop device mounted for the user. */
  kind: z.enum(['attach', 'mount']),
  /** Recorded before the work ('attaching', 'mounting') and after it ('attached', 'mounted'). */
  state: z.enum(['attaching', 'attached', 'mounting', 'mounted']),
  image: z.string(),
  /** The partition number, or null for the whole image. */
  partition: z.number().int().nullable(),
  offsetBytes: z.number().int().nonnegative(),
  sizeBytes: z.number().int().nonnegative().nullable(),
  device: z.string().nullable(),
  mountDir: z.string().nullable(),
  family: z.enum(['ext2', 'fat']).nullable(),
  /** Which program made it: the app (and its process), the CLI, the web harness. */
  owner: z.object({ shell: z.enum(['electron', 'web', 'cli']), pid: z.number().int() }),
  createdAt: z.string(),
  /** What the system shows right now. */
  live: z.object({ attached: z.boolean(), mounted: z.boolean() }),
  /**
   * Offered for cleanup: what a crashed or killed action left half-done (its maker ended while it
   * was still attaching or mounting), what the app left when it died without releasing its own,
   * what belongs to an image that no longer exists (deleted, or replaced by a new build), and mounts
   * under the mount root that no entry explains. A mount or loop device made on purpose with
   * `loopstudio mount` / `attach` is not one: it stays the user's until `umount` / `detach`.
   */
  leftover: z.boolean(),
  /** Why it is a leftover, or why not ("kept: made by `loopstudio mount` …", "in use by …"), in words. */
  reason: z.string(),
});
export type LoopEntry = z.infer<typeof loopEntrySchema>;

export const loopsStateSchema = z.object({
  entries: z.array(loopEntrySchema),
  /** 'root': no prompt needed; 'prompt': a password prompt (pkexec); 'unavailable': run as root. */
  elevation: z.enum(['root', 'prompt', 'unavailable']),
  /** linux, freebsd, openbsd, freebsd4 — or null where there is no loop engine (macOS, Windows). */
  system: z.string().nullable(),
  /** Where mount points are made: $XDG_RUNTIME_DIR/loopback-studio/mnt or ~/.cache/loopback-studio/mnt. */
  mountRoot: z.string(),
});
export type LoopsState = z.infer<typeof loopsStateSchema>;

/** The classic recipe for what was done, for people who want to type it themselves. */
export interface ShellEquivalent {
  /** As root, in order: attach, mount, (work), sync, unmount, detach. */
  lines: string[];
  /** Attach and mount in one command (`mount -o loop,offset=…`), where the system can. */
  oneStep: string | null;
  /** An /etc/fstab line, where the system can. */
  fstab: string | null;
}

export interface LoopActionResult {
  /** What the action made or released. */
  entries: LoopEntry[];
  device: string | null;
  mountDir: string | null;
  /** Exactly what ran as root, one shell-quoted line per command (`chown` marked as done in-process). */
  commands: string[];
  /** 'root' when no prompt was needed, 'sudo-prompt' when the user was asked. Null when nothing had to run. */
  elevation: 'root' | 'sudo-prompt' | null;
  equivalent: ShellEquivalent | null;
  /**
   * cleanup: leftovers it could not release because their image is gone (or is another file now),
   * so the helper cannot check the device against it; each with the lines that release it by hand.
   */
  notReleased?: { id: string; device: string | null; mountDir: string | null; reason: string; byHand: string[] }[];
}
