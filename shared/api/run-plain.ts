/**
 * The schema-free part of the run API (run.ts): what a run and its rebuilds look like. The
 * renderer imports these types without the contract's zod schemas.
 */

/** One thing a rebuild changed in the image. */
export interface RunChange {
  /** Where in the image: `/boot/kernel.elf`, or `menu` for the boot menu. */
  path: string;
  what: 'changed' | 'added' | 'removed' | 'menu';
  /** The file's new size (null for removals, folders, links and the menu). */
  bytes: number | null;
  /** The partition it is on, or null for a whole-disk filesystem. */
  partition: number | null;
}

/** What one build or rebuild did. */
export interface RunReport {
  /** When it finished (ISO time). */
  at: string;
  /** How long updating the image took (not counting QEMU). */
  ms: number;
  /** none: the image was up to date; incremental: only what changed; full: built anew. */
  kind: 'none' | 'incremental' | 'full';
  /** Why a full build (no image, no build state, the layout changed …), or why nothing was done. */
  reason: string;
  changes: RunChange[];
  /** One line for a person: `rebuilt in 38 ms: /boot/kernel.elf (412 KiB) changed`. */
  summary: string;
  /** Short, for a console rule: `kernel.elf changed`. */
  short: string;
}

/**
 * building: the first build (or a rebuild after QEMU ended) runs; booting: QEMU is starting;
 * running: QEMU runs; rebuilding: a change is being built while the old machine still runs;
 * idle: QEMU ended and the run waits for a change (watching); stopped: the run is over.
 */
export type RunState = 'building' | 'booting' | 'running' | 'rebuilding' | 'idle' | 'stopped';

export interface RunStatus {
  runId: string;
  recipe: string;
  image: string;
  state: RunState;
  watch: boolean;
  /** The QEMU session now (or last) running, its pid and command line. */
  sessionId: string | null;
  pid: number | null;
  commandLine: string | null;
  /** QEMU sessions started so far (the first boot included). */
  boots: number;
  /** The gdb stub and the command that attaches gdb with the kernel's symbols. */
  gdb: { host: string; port: number; waiting: boolean; command: string; kernel: string | null } | null;
  /** The last build or rebuild that succeeded. */
  lastReport: RunReport | null;
  /** The last build error, cleared by the next good build; the machine before it keeps running. */
  lastError: { at: string; code: string; message: string } | null;
  /** How the last QEMU ended, once it has. */
  exit: { code: number | null; signal: string | null; stopped: boolean } | null;
  /** The folders and files being watched (with watch). */
  watching: string[];
}
