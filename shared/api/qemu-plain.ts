/**
 * The schema-free part of the QEMU API (qemu.ts): the limits and defaults the renderer's QEMU
 * panel needs at run time. Kept apart because importing qemu.ts runs its zod schemas, which would
 * put zod in the renderer's download though the renderer never validates (the services do).
 * qemu.ts re-exports these.
 */

export const QEMU_ARCHES = ['i386', 'x86_64'] as const;
export type QemuArch = (typeof QEMU_ARCHES)[number];

/** Guest memory in MiB. SeaBIOS and a boot sector fit in 2 MiB; 1 TiB is far beyond a test VM. */
export const QEMU_MEMORY_MIN_MIB = 2;
export const QEMU_MEMORY_MAX_MIB = 1024 * 1024;
export const QEMU_DEFAULT_MEMORY_MIB = 64;
/** QEMU's `pc` machine takes at most 255 CPUs. */
export const QEMU_MAX_CPUS = 255;
/** The port QEMU's `-s` shorthand uses (`target remote :1234` in gdb). */
export const QEMU_DEFAULT_GDB_PORT = 1234;
