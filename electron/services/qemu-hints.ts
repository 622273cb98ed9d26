/**
 * What to change when an expected line did not appear on the serial console: read from what the
 * console did show (GRUB's "out of memory", nothing at all, a menu and then silence, a kernel
 * panic) and from how QEMU was run (its machine, its memory). The CLI's --expect prints these.
 */
import { QEMU_DEFAULT_MEMORY_MIB } from '../../shared/api/qemu-plain';

export interface HintContext {
  arch: 'i386' | 'x86_64';
  memoryMiB: number;
  firmware: 'bios' | 'uefi';
  /** A kernel booted with -kernel (no boot loader), or null for an image. */
  kernel: string | null;
  /** Whether --memory was given (else the default was used). */
  memoryAsked?: boolean;
}

/** The console without terminal escapes and control characters, as a person would read it. */
export function plainConsole(output: string): string {
  return output
    .replace(/\x1b\[[0-9;?=:]*[ -/]*[@-~]/g, ' ') // eslint-disable-line no-control-regex
    .replace(/\x1b[()][0-9A-Za-z]/g, '') // eslint-disable-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ''); // eslint-disable-line no-control-regex
}

/** A bigger memory size to suggest than `memoryMiB`. */
function more(memoryMiB: number): number {
  return Math.max(QEMU_DEFAULT_MEMORY_MIB, memoryMiB * 2);
}

/** What to try, in words, for an expected line that did not appear; empty when nothing stands out. */
export function bootHints(output: string, context: HintContext): string[] {
  const text = plainConsole(output);
  const hints: string[] = [];
  const memory = `${context.memoryMiB} MiB`;
  if (/out of memory/i.test(text)) {
    hints.push(
      `the console says "out of memory" with ${memory} of guest memory: give it more, e.g. --memory ${more(context.memoryMiB)}` +
        (context.firmware === 'uefi' ? ' (under OVMF, GRUB needs 512 MiB for a distribution kernel and its initrd)' : ''),
    );
  }
  if (text.trim() === '') {
    const why = [
      context.kernel === null
        ? 'a boot loader shows its menu on the serial port only when told to (GRUB: --serial, or "serial": true in a recipe\'s menu)'
        : null,
      'Linux prints there only with console=ttyS0 on its command line',
      context.arch === 'i386' ? 'a 64-bit kernel on qemu-system-i386 (this run) stops without a word: --arch x86_64' : null,
      context.memoryMiB < QEMU_DEFAULT_MEMORY_MIB
        ? `too little memory stops some kernels before their first line (this run: ${memory}): --memory ${QEMU_DEFAULT_MEMORY_MIB}`
        : null,
      'with --window you see the screen, where a boot sector or the BIOS may have printed its error',
    ].filter((line): line is string => line !== null);
    hints.push(`nothing at all appeared on the serial port: ${why.join('; ')}`);
    return hints;
  }
  // GRUB started an entry, and nothing came after it.
  const booting = text.lastIndexOf('Booting `');
  if (booting >= 0) {
    const after = text.slice(booting).replace(/Booting `[^\n']*'/g, '');
    if (after.trim() === '') {
      hints.push(
        'GRUB started the entry and then the kernel printed nothing: ' +
          [
            'Linux needs console=ttyS0 on its command line (--cmdline, or the menu entry\'s "cmdline"); earlyprintk=serial shows an early failure',
            context.arch === 'i386' ? 'a 64-bit kernel needs qemu-system-x86_64: --arch x86_64 (this run was i386)' : null,
            context.memoryMiB < QEMU_DEFAULT_MEMORY_MIB
              ? `a kernel can stop before its first line with too little memory (this run: ${memory}): --memory ${QEMU_DEFAULT_MEMORY_MIB}`
              : null,
          ]
            .filter(Boolean)
            .join('; '),
      );
    }
  }
  if (/you need to load the kernel first/i.test(text) && !/out of memory/i.test(text)) {
    hints.push(
      'GRUB could not load the kernel: its error is above (a wrong path in the menu, a file that is not there, or a kernel type the entry does not match)',
    );
  }
  if (/Unable to mount root fs|No working init found|initramfs unpacking failed/i.test(text)) {
    hints.push(
      "the kernel started but found no root filesystem or init: its initrd did not load (see GRUB's messages above: out of memory?) or has no /init",
    );
  }
  return hints;
}
