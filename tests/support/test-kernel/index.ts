/**
 * The programs our boot tests boot, assembled from source at test time: a multiboot v1 kernel
 * (kernel.asm) and a raw 512-byte boot sector (bootsector.asm). Each prints one fixed line to
 * COM1 and to port 0xE9; seeing that line on QEMU's serial port is what "it booted" means.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTools, runToolOk } from '../host';

const SOURCE_DIR = __dirname;

/** What kernel.asm prints (followed by CR LF). */
export const KERNEL_LINE = 'Loopback Studio test kernel: hello from multiboot';
/** What bootsector.asm prints (followed by CR LF); afterwards it echoes COM1 input back. */
export const BOOT_SECTOR_LINE = 'Loopback Studio boot sector: hello from sector 0';
/** Both write 0x10 to isa-debug-exit (port 0xF4): QEMU then exits with (0x10 << 1) | 1. */
export const DEBUG_EXIT_STATUS = 33;

/** 3.5" high density: 80 cylinders × 2 heads × 18 sectors × 512 bytes. */
export const FLOPPY_1440K_BYTES = 1_474_560;

/** Why the test programs cannot be built here, or null. */
export function testProgramsMissing(): string | null {
  const missing = missingTools('nasm', 'ld');
  if (missing) return missing;
  // A cross or non-x86 binutils may lack the 32-bit x86 ELF emulation the kernel links with.
  const emulations = spawnSync('ld', ['-V'], { encoding: 'utf8' }).stdout ?? '';
  return /\belf_i386\b/.test(emulations) ? null : 'ld cannot link 32-bit x86 ELF (no elf_i386 emulation)';
}

function requireTools(): void {
  const missing = testProgramsMissing();
  if (missing) throw new Error(`cannot build the test programs: ${missing}`);
}

export interface TestKernelOptions {
  /** The line it prints instead of KERNEL_LINE (printable ASCII, no quote). */
  message?: string;
  /** Bytes of data to add (a kernel of about that size). */
  padBytes?: number;
  /** The ELF's file name in DIR (default kernel.elf). */
  name?: string;
}

/** Assembles and links kernel.asm into DIR/kernel.elf (multiboot v1, loaded at 1 MiB); its entry symbol is `_start`. */
export function buildTestKernel(dir: string, options: TestKernelOptions = {}): string {
  requireTools();
  const name = options.name ?? 'kernel.elf';
  const object = join(dir, name === 'kernel.elf' ? 'kernel.o' : `${name}.o`);
  const elf = join(dir, name);
  if (options.message !== undefined && !/^[ -&(-~]*$/.test(options.message))
    throw new Error(`test kernel message must be printable ASCII without a quote: ${options.message}`);
  const defines = [
    ...(options.message !== undefined ? [`-DMESSAGE='${options.message}'`] : []),
    ...(options.padBytes ? [`-DPAD_BYTES=${options.padBytes}`] : []),
  ];
  runToolOk('nasm', ['-f', 'elf32', ...defines, join(SOURCE_DIR, 'kernel.asm'), '-o', object]);
  runToolOk('ld', ['-m', 'elf_i386', '-n', '-Ttext', '0x100000', '-o', elf, object]);
  return elf;
}

/** Assembles bootsector.asm into DIR/bootsector.bin (512 bytes, ending 55 AA). */
export function buildBootSector(dir: string): string {
  requireTools();
  const bin = join(dir, 'bootsector.bin');
  runToolOk('nasm', ['-f', 'bin', join(SOURCE_DIR, 'bootsector.asm'), '-o', bin]);
  return bin;
}

/** A 1.44M floppy image with the boot sector as sector 0 and zeros after it. */
export function writeBootSectorFloppy(bootSector: string, imagePath: string): string {
  const image = Buffer.alloc(FLOPPY_1440K_BYTES);
  readFileSync(bootSector).copy(image, 0);
  writeFileSync(imagePath, image);
  return imagePath;
}
