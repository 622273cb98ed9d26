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
/**
 * 512 MiB: what a distribution kernel with its initrd needs through GRUB under SeaBIOS and under
 * OVMF. Measured with Debian 12's linux-image-amd64 (6.1) and a 70 MB initrd: under SeaBIOS GRUB
 * says "out of memory" loading the initrd at 256 MiB and boots at 512; under OVMF GRUB's `linux`
 * fails the same way at 256 MiB and boots at 512. (QEMU's own default, 128 MiB, boots it with a
 * small busybox initrd under SeaBIOS only.) Memory a hobby kernel does not touch costs the host
 * nothing: QEMU allocates it as the guest writes it.
 */
export const QEMU_DEFAULT_MEMORY_MIB = 512;
/** QEMU's `pc` machine takes at most 255 CPUs. */
export const QEMU_MAX_CPUS = 255;
/** The port QEMU's `-s` shorthand uses (`target remote :1234` in gdb). */
export const QEMU_DEFAULT_GDB_PORT = 1234;
