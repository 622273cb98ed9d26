/**
 * The QEMU launcher's part of the API contract: what a launch can ask for (validated here, so the
 * app, the harness and the CLI refuse the same things), what a session looks like, and the events
 * a running session sends (its console output, QEMU's own messages, its exit).
 */
import { z } from 'zod';
import { QEMU_ARCHES, QEMU_MAX_CPUS, QEMU_MEMORY_MAX_MIB, QEMU_MEMORY_MIN_MIB, type QemuArch } from './qemu-plain';

export {
  QEMU_ARCHES,
  QEMU_DEFAULT_GDB_PORT,
  QEMU_DEFAULT_MEMORY_MIB,
  QEMU_MAX_CPUS,
  QEMU_MEMORY_MAX_MIB,
  QEMU_MEMORY_MIN_MIB,
  type QemuArch,
} from './qemu-plain';

const hostPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte');

/**
 * Where a character device of the guest (the COM1 serial port, the port-0xE9 debug console) goes:
 * QEMU's stdio — which the service streams to the app's console, or the CLI to the terminal —
 * a file, or nowhere.
 */
export const qemuCharTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('stdio') }).strict(),
  z.object({ kind: z.literal('file'), path: hostPath }).strict(),
  z.object({ kind: z.literal('none') }).strict(),
]);
export type QemuCharTarget = z.infer<typeof qemuCharTargetSchema>;

/** What a person can ask of a launch. Every field is optional; the defaults are in the comments. */
export const qemuLaunchSchema = z
  .object({
    /** The disk image to boot. Required unless `kernel` is given. */
    image: hostPath.optional(),
    /** A multiboot (v1, 32-bit ELF) or Linux kernel for QEMU to load itself (`-kernel`), no bootloader. */
    kernel: hostPath.optional(),
    /** The kernel's command line (`-append`); only with `kernel`. */
    append: z.string().max(4096).optional(),
    /** A Linux kernel's initrd (`-initrd FILE`); only with a Linux `kernel`. */
    initrd: hostPath.optional(),
    /**
     * A multiboot kernel's modules, each with its own command line (`-initrd 'FILE ARGS,FILE2'`);
     * only with a multiboot `kernel`. QEMU ends a module's path at its first space.
     */
    modules: z
      .array(
        z
          .object({
            path: hostPath.refine((p) => !/\s/.test(p), "QEMU ends a module's path at its first space: rename the file"),
            cmdline: z
              .string()
              .max(4096)
              .refine((c) => !/[\n\r]/.test(c), 'one line')
              .optional(),
          })
          .strict(),
      )
      .max(64)
      .optional(),
    /**
     * Default: x86_64 for UEFI, or when the kernel (or what the image's boot menu loads, or an EFI
     * loader on the image) is 64-bit; i386 otherwise. The command says which and why (`archReason`).
     */
    arch: z.enum(QEMU_ARCHES).optional(),
    /** Default auto: a CD for an ISO 9660 image, a floppy when the image has a floppy format's size and no partitions, else a hard disk. */
    media: z.enum(['auto', 'floppy', 'disk', 'cdrom']).optional(),
    /** Default QEMU_DEFAULT_MEMORY_MIB (512: a distribution kernel and initrd boot with it, SeaBIOS and OVMF alike). */
    memoryMiB: z.number().int().min(QEMU_MEMORY_MIN_MIB).max(QEMU_MEMORY_MAX_MIB).optional(),
    /** Default 1. */
    cpus: z.number().int().min(1).max(QEMU_MAX_CPUS).optional(),
    /** Start QEMU's gdb stub on 127.0.0.1 (default port 1234). */
    gdb: z.boolean().optional(),
    gdbPort: z.number().int().min(1).max(65535).optional(),
    /** Freeze the CPU at start until gdb continues it (`-S`); implies `gdb`. */
    waitForGdb: z.boolean().optional(),
    /** COM1. Default stdio (the app's console). */
    serial: qemuCharTargetSchema.optional(),
    /** The debug console on port 0xE9 (`-debugcon`). Default none. */
    debugcon: qemuCharTargetSchema.optional(),
    /** Log what the guest does wrong (`-d guest_errors`): to QEMU's stderr, or to `guestErrorLog`. */
    guestErrors: z.boolean().optional(),
    /** The log file (`-D`); implies `guestErrors`. */
    guestErrorLog: hostPath.optional(),
    /** Default true: a triple fault or a reset ends the run instead of rebooting in a loop. */
    noReboot: z.boolean().optional(),
    /** Keep QEMU open, paused, when the guest powers off (`-no-shutdown`). Default false. */
    noShutdown: z.boolean().optional(),
    /** Default none: the app shows the serial console. `window` lets QEMU open its own. */
    display: z.enum(['none', 'window']).optional(),
    /** Default auto: KVM when /dev/kvm is usable, else TCG (emulation). */
    accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    /** Default bios (SeaBIOS). uefi needs OVMF on the host and runs x86_64. */
    firmware: z.enum(['bios', 'uefi']).optional(),
    /** Add QEMU's isa-debug-exit device (port 0xF4): `outb` there ends QEMU with status (value << 1) | 1. */
    debugExit: z.boolean().optional(),
    /**
     * Boot without writing the image (`-snapshot`): the guest's writes go to a temporary file
     * QEMU throws away. The way to boot an image the host has mounted. Default false.
     */
    snapshot: z.boolean().optional(),
  })
  .strict()
  .refine((v) => v.image !== undefined || v.kernel !== undefined, { message: 'give an image to boot, or a kernel (or both)' });
export type QemuLaunchOptions = z.input<typeof qemuLaunchSchema>;

/** The command a launch runs, before or after it runs. */
export interface QemuCommand {
  /** The program (absolute) and its arguments: exactly what is spawned. */
  argv: string[];
  /** The same, quoted for a POSIX shell: what the UI shows and lets people copy. */
  commandLine: string;
  arch: QemuArch;
  /** Why this machine: "x86_64: /boot/vmlinuz (in /boot/grub/grub.cfg, partition 1) is a 64-bit Linux kernel", "i386: asked for" … */
  archReason?: string;
  /** The guest's memory, MiB. */
  memoryMiB?: number;
  /** How the image is attached, or null when only a kernel is booted. */
  media: 'floppy' | 'disk' | 'cdrom' | null;
  accel: 'kvm' | 'tcg';
  /** Why this accelerator: "KVM: /dev/kvm is usable", "TCG: /dev/kvm does not exist" … */
  accelReason: string;
  firmware: 'bios' | 'uefi';
  /** The gdb stub's address, when there is one. */
  gdb: { host: string; port: number; waiting: boolean } | null;
}

export type QemuSessionState = 'running' | 'stopping' | 'exited';

export interface QemuSession extends QemuCommand {
  sessionId: string;
  state: QemuSessionState;
  pid: number | null;
  /** Absolute paths, as QEMU was given them. */
  image: string | null;
  kernel: string | null;
  startedAt: string;
  exitedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  /**
   * True once `stop` was asked for. QEMU catches SIGTERM and exits with status 0 ("terminating
   * on signal 15"), so the status alone cannot tell a stop from a guest that powered off.
   */
  stopped: boolean;
}

/** A session and the end of its console, for a UI that (re)attaches to it. */
export interface QemuSessionStatus extends QemuSession {
  /** The last characters QEMU wrote to stdio (the serial console), up to 64 KiB. */
  consoleTail: string;
  /** The last of QEMU's own messages on stderr (warnings, errors, guest_errors), up to 16 KiB. */
  stderrTail: string;
}

export const qemuSerialEventSchema = z.object({ sessionId: z.string(), data: z.string() });
export const qemuLogEventSchema = z.object({ sessionId: z.string(), data: z.string() });
export const qemuExitedEventSchema = z.object({
  sessionId: z.string(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** Ended by qemu.stop (or restart, or the host quitting), not by itself. */
  stopped: z.boolean(),
  /** The end of what QEMU said on stderr: why it stopped, when it failed. */
  stderr: z.string(),
});
