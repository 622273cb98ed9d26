/**
 * What QEMU is asked to boot, read from the files themselves: whether a file is a kernel (an ELF,
 * or a Linux bzImage) rather than a disk image, whether that kernel is 64-bit, and — for a disk
 * image — whether what its boot menu loads (or an EFI loader on it) needs a 64-bit machine. The
 * QEMU service picks qemu-system-x86_64 or qemu-system-i386 from this, and says why.
 *
 * Only reads; a damaged or unknown image simply yields "nothing 64-bit found".
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import type { QemuArch } from '../../shared/api/qemu';
import { describeDisk } from '../../shared/disk/disk-info';
import { SubBlockDevice, type BlockDevice } from '../../shared/disk/block-device';
import { LoopbackError } from '../../shared/errors';
import type { FileSystem } from '../../shared/fs/types';
import { initrdArg } from '../platform/qemu';
import { withImage } from './file-block-device';
import { detectFileSystem, openFileSystem } from './volumes';

/** What the first bytes of a file say it is. */
export type KernelImage =
  | { kind: 'elf'; bits: 32 | 64; machine: 'x86' | 'x86-64' | 'other'; multiboot: boolean }
  | { kind: 'linux'; bits64: boolean }
  | { kind: 'other'; multiboot: boolean };

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
/** Multiboot v1 (within the first 8 KiB, 4-aligned) and multiboot2 (first 32 KiB, 8-aligned) header magics. */
const MULTIBOOT1 = 0x1badb002;
const MULTIBOOT2 = 0xe85250d6;
/** How much of a file is read to tell what it is. */
export const KERNEL_PROBE_BYTES = 64 * 1024;

function u16(bytes: Uint8Array, at: number): number {
  return at + 2 <= bytes.length ? bytes[at]! | (bytes[at + 1]! << 8) : 0;
}

function u32(bytes: Uint8Array, at: number): number {
  return at + 4 <= bytes.length ? (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0 : 0;
}

/** A multiboot (v1 or 2) header where the specifications put it, its checksum right. */
function hasMultibootHeader(bytes: Uint8Array): boolean {
  for (let at = 0; at + 12 <= Math.min(bytes.length, 8192); at += 4) {
    if (u32(bytes, at) === MULTIBOOT1 && (u32(bytes, at) + u32(bytes, at + 4) + u32(bytes, at + 8)) >>> 0 === 0) return true;
  }
  for (let at = 0; at + 16 <= Math.min(bytes.length, 32768); at += 8) {
    if (u32(bytes, at) === MULTIBOOT2 && (u32(bytes, at) + u32(bytes, at + 4) + u32(bytes, at + 8) + u32(bytes, at + 12)) >>> 0 === 0)
      return true;
  }
  return false;
}

/**
 * Reads a kernel's first bytes: an ELF (its class and machine), a Linux bzImage ("HdrS" at 0x202;
 * 64-bit when its boot protocol, 2.12 and later, sets XLF_KERNEL_64 in xloadflags at 0x236), or
 * something else (a raw binary, a disk image).
 */
export function inspectKernel(bytes: Uint8Array): KernelImage {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const bits = bytes[4] === 2 ? 64 : 32;
    const machine = u16(bytes, 18);
    return {
      kind: 'elf',
      bits,
      machine: machine === 3 ? 'x86' : machine === 62 ? 'x86-64' : 'other',
      multiboot: hasMultibootHeader(bytes),
    };
  }
  if (u32(bytes, 0x202) === 0x53726448 /* "HdrS" */) {
    const protocol = u16(bytes, 0x206);
    return { kind: 'linux', bits64: protocol >= 0x20c && (u16(bytes, 0x236) & 1) === 1 };
  }
  return { kind: 'other', multiboot: hasMultibootHeader(bytes) };
}

/** The first KERNEL_PROBE_BYTES of a host file. */
export async function readHead(path: string): Promise<Uint8Array> {
  const handle = await fs.open(path, 'r');
  try {
    const buffer = new Uint8Array(KERNEL_PROBE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Whether a kernel needs a 64-bit machine, in words, or null when it does not. */
export function sixtyFourBit(kernel: KernelImage, name: string): string | null {
  if (kernel.kind === 'linux' && kernel.bits64) return `${name} is a 64-bit Linux kernel`;
  if (kernel.kind === 'elf' && (kernel.bits === 64 || kernel.machine === 'x86-64')) return `${name} is an x86-64 ELF kernel`;
  return null;
}

export interface ArchChoice {
  arch: QemuArch;
  /** Why, in words: shown with the command line. */
  reason: string;
}

/** Kernel paths a GRUB 2 grub.cfg or GRUB legacy menu.lst loads (`linux`, `multiboot`, `kernel` …), device prefixes dropped. */
export function menuKernels(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(?:linux|linux16|linuxefi|multiboot|multiboot2|kernel)\s+(?:--\S+\s+)*(\S+)/.exec(line);
    if (!match) continue;
    const path = match[1]!.replace(/^\([^)]*\)/, '');
    if (path.startsWith('/') && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

const MENU_FILES = [
  '/boot/grub/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/grub/grub.cfg',
  '/boot/grub/menu.lst',
  '/boot/grub/grub.conf',
  '/EFI/BOOT/grub.cfg',
];
const EFI_LOADERS = ['/EFI/BOOT/BOOTX64.EFI'];

async function isFile(target: FileSystem, path: string): Promise<boolean> {
  return target.stat(path).then(
    (entry) => entry.type === 'file',
    () => false,
  );
}

/** The first 64-bit thing a volume boots (a kernel its menu names, an EFI loader), in words, or null. */
async function volumeNeeds64(device: BlockDevice, where: string, ref: { image: string; partition?: number }): Promise<string | null> {
  if (!(await detectFileSystem(device))) return null;
  const target = await openFileSystem(device, ref);
  try {
    // What the menu boots says most; an EFI loader on the disk says the system is 64-bit too.
    for (const menu of MENU_FILES) {
      if (!(await isFile(target, menu))) continue;
      const text = new TextDecoder().decode(await target.readFile(menu));
      for (const kernel of menuKernels(text)) {
        if (!(await isFile(target, kernel))) continue;
        const found = sixtyFourBit(
          inspectKernel((await target.readFile(kernel)).subarray(0, KERNEL_PROBE_BYTES)),
          `${kernel} (in ${menu}, ${where})`,
        );
        if (found) return found;
      }
    }
    for (const loader of EFI_LOADERS) {
      if (await isFile(target, loader)) return `${where} holds ${loader}, a 64-bit UEFI boot loader`;
    }
    return null;
  } finally {
    await target.close?.();
  }
}

/** Whether anything on a disk image needs a 64-bit machine, in words, or null. Never throws. */
export async function imageNeeds64(image: string): Promise<string | null> {
  try {
    return await withImage(image, false, async (file) => {
      const disk = await describeDisk(file);
      if (disk.table === 'none') return volumeNeeds64(file, 'the image', { image });
      for (const p of disk.partitions) {
        if (p.kind === 'extended' || p.offsetBytes + p.sizeBytes > file.sizeBytes) continue;
        const found = await volumeNeeds64(new SubBlockDevice(file, p.offsetBytes, p.sizeBytes), `partition ${p.index}`, {
          image,
          partition: p.index,
        }).catch(() => null);
        if (found) return found;
      }
      return null;
    });
  } catch {
    return null;
  }
}

/**
 * The machine for a boot: what was asked for; x86_64 for UEFI (OVMF is 64-bit); x86_64 when the
 * kernel, or what the image's boot menu loads, or an EFI loader on the image, is 64-bit; else
 * i386, the machine of 32-bit hobby kernels and boot sectors (x86_64 runs those too).
 */
export async function chooseArch(options: {
  arch?: QemuArch;
  firmware: 'bios' | 'uefi';
  image: string | null;
  kernel: KernelImage | null;
  kernelName: string | null;
}): Promise<ArchChoice> {
  if (options.arch) return { arch: options.arch, reason: `${options.arch}: asked for` };
  if (options.firmware === 'uefi') return { arch: 'x86_64', reason: 'x86_64: UEFI firmware (OVMF) is 64-bit' };
  if (options.kernel && options.kernelName) {
    const found = sixtyFourBit(options.kernel, options.kernelName);
    if (found) return { arch: 'x86_64', reason: `x86_64: ${found}` };
  }
  if (options.image) {
    const found = await imageNeeds64(options.image);
    if (found) return { arch: 'x86_64', reason: `x86_64: ${found}` };
  }
  return { arch: 'i386', reason: 'i386: nothing 64-bit found (no x86-64 or 64-bit Linux kernel, no EFI loader); --arch x86_64 chooses it' };
}

/** What a launch boots, its files checked: the image (when it is one), the kernel and QEMU's -initrd. */
export interface BootFiles {
  image: string | undefined;
  kernel: string | undefined;
  kernelImage: KernelImage | null;
  /** QEMU's -initrd value (a Linux initrd, or multiboot modules), or undefined. */
  initrd: string | undefined;
  /** The file given as the image is a kernel (an ELF or a bzImage), booted with -kernel instead. */
  imageWasKernel: boolean;
}

function invalid(message: string, details?: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

/** A host file the boot needs (the kernel, its initrd, a module), checked: NOT_FOUND naming it when it is not one. */
async function requireBootFile(path: string, what: string): Promise<void> {
  const stats = await fs.stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new LoopbackError(
      error.code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
      `${what} ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
      { path },
    );
  });
  if (!stats.isFile()) throw new LoopbackError('INVALID_INPUT', `${what} ${path} is not a regular file`, { path });
}

async function headOf(path: string, what: string): Promise<Uint8Array> {
  await requireBootFile(path, what);
  return readHead(path);
}

/**
 * Sorts out what to boot: a file given as the image that is really a kernel (an ELF: `qemu
 * kernel.elf`; or a Linux bzImage) is booted with -kernel, not as a raw disk; a Linux kernel's
 * initrd and a multiboot kernel's modules become -initrd, each checked against the kind of kernel
 * it goes with. Refuses a 64-bit ELF for -kernel, which QEMU cannot load.
 */
export async function bootFiles(options: {
  image?: string;
  kernel?: string;
  initrd?: string;
  modules?: readonly { path: string; cmdline?: string }[];
}): Promise<BootFiles> {
  let { image, kernel } = options;
  let imageWasKernel = false;
  if (image !== undefined && kernel === undefined) {
    // Checked as an image later (requireRegularFile), when it is not a kernel.
    const head = await readHead(resolve(image)).catch(() => new Uint8Array(0));
    const what = inspectKernel(head);
    if (what.kind === 'elf' || what.kind === 'linux') {
      kernel = image;
      image = undefined;
      imageWasKernel = true;
    }
  }
  let kernelImage: KernelImage | null = null;
  if (kernel !== undefined) {
    kernelImage = inspectKernel(await headOf(resolve(kernel), 'the kernel'));
    if (kernelImage.kind === 'elf' && (kernelImage.bits === 64 || kernelImage.machine === 'x86-64')) {
      throw invalid(
        `${kernel} is a 64-bit ELF: QEMU's -kernel loads a multiboot kernel only as a 32-bit ELF ("Cannot load x86-64 image"). Boot it through GRUB 2 from a disk image (multiboot2: loopstudio build), or link a 32-bit ELF that switches to long mode itself`,
        { kernel },
      );
    }
  }
  const modules = options.modules ?? [];
  if ((options.initrd !== undefined || modules.length) && kernel === undefined)
    throw invalid('an initrd or multiboot modules go with a kernel (--kernel FILE)');
  const linux = kernelImage?.kind === 'linux';
  let initrd: string | undefined;
  if (options.initrd !== undefined) {
    if (modules.length) throw invalid('give a Linux kernel its --initrd, or a multiboot kernel its --module files, not both');
    if (!linux)
      throw invalid(
        `${kernel} is not a Linux kernel: --initrd is a Linux kernel's initial ramdisk. A multiboot kernel takes its files as --module "FILE ARGS"`,
      );
    initrd = resolve(options.initrd);
    await requireBootFile(initrd, 'the initrd');
  } else if (modules.length) {
    if (linux) throw invalid(`${kernel} is a Linux kernel: it takes one --initrd FILE, not multiboot --module files`);
    const resolved = [];
    for (const m of modules) {
      const path = resolve(m.path);
      if (/\s/.test(path))
        throw invalid(`QEMU ends a module's path at its first space, and ${path} has one: copy the module to a path without spaces`, {
          path,
        });
      await requireBootFile(path, 'the module');
      resolved.push({ path, ...(m.cmdline !== undefined ? { cmdline: m.cmdline } : {}) });
    }
    initrd = initrdArg(resolved);
  }
  return { image, kernel, kernelImage, initrd, imageWasKernel };
}
