/**
 * What --expect says to change when its line did not appear (qemu-hints.ts), from consoles as
 * they came out of real boots: GRUB 2.06 out of memory loading a Debian kernel's initrd, a 64-bit
 * kernel on qemu-system-i386 after GRUB's "Booting", a console that stayed empty.
 */
import { describe, expect, it } from 'vitest';
import { bootHints, plainConsole } from './qemu-hints';

const grub = { arch: 'i386' as const, memoryMiB: 64, firmware: 'bios' as const, kernel: null };
/** The end of GRUB 2.06's serial console with 64 MiB on qemu-system-i386 (Debian 12's kernel, a busybox initrd). */
const OUT_OF_MEMORY =
  "\u001b[H\u001b[J\u001b[1;1H\u001b[H\u001b[J\u001b[1;1H  Booting `Linux'\n\r\n\rerror: out of memory.\n\rerror: you need to load the kernel first.\n\r\n\rPress any key to continue...";
/** The same with 128 MiB: GRUB loads the 64-bit kernel, which then says nothing on a 32-bit machine. */
const SILENT_KERNEL = "\u001b[H\u001b[J\u001b[1;1H\u001b[H\u001b[J\u001b[1;1H  Booting `Linux'\n\r\n\r";

describe('bootHints', () => {
  it('"out of memory": more memory, with how much this run had', () => {
    expect(bootHints(OUT_OF_MEMORY, grub)).toEqual([
      'the console says "out of memory" with 64 MiB of guest memory: give it more, e.g. --memory 512',
    ]);
    expect(bootHints(OUT_OF_MEMORY, { ...grub, arch: 'x86_64', memoryMiB: 256, firmware: 'uefi' })[0]).toBe(
      'the console says "out of memory" with 256 MiB of guest memory: give it more, e.g. --memory 512 (under OVMF, GRUB needs 512 MiB for a distribution kernel and its initrd)',
    );
  });

  it('GRUB booted an entry and the kernel said nothing: console=ttyS0, the 64-bit machine, memory', () => {
    const [hint] = bootHints(SILENT_KERNEL, { ...grub, memoryMiB: 128 });
    expect(hint).toMatch(/^GRUB started the entry and then the kernel printed nothing: Linux needs console=ttyS0/);
    expect(hint).toContain('--arch x86_64 (this run was i386)');
    expect(hint).toContain('(this run: 128 MiB): --memory 512');
    // On the right machine with enough memory, only what is left to check.
    expect(bootHints(SILENT_KERNEL, { ...grub, arch: 'x86_64', memoryMiB: 512 })[0]).not.toMatch(/--arch|--memory/);
  });

  it('nothing at all on the serial port: what sends output there, and the machine and memory of this run', () => {
    const [hint] = bootHints('\u001b[2J\r\n', grub);
    expect(hint).toMatch(/^nothing at all appeared on the serial port: a boot loader shows its menu on the serial port only when told to/);
    expect(hint).toContain('console=ttyS0');
    expect(hint).toContain('a 64-bit kernel on qemu-system-i386 (this run) stops without a word: --arch x86_64');
    expect(hint).toContain('(this run: 64 MiB): --memory 512');
    expect(bootHints('', { ...grub, arch: 'x86_64', memoryMiB: 512, kernel: '/k' })[0]).not.toMatch(/boot loader|--arch|--memory/);
  });

  it('a kernel that found no root: its initrd did not load', () => {
    expect(
      bootHints('[    2.0] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n', {
        ...grub,
        arch: 'x86_64',
        memoryMiB: 512,
      }),
    ).toEqual([expect.stringMatching(/^the kernel started but found no root filesystem or init: its initrd did not load/)]);
  });

  it('says nothing when nothing stands out', () => {
    expect(bootHints('Loopback Studio test kernel: hello\r\n', grub)).toEqual([]);
    expect(plainConsole('\u001b[1;1Hab\u001b[0mc')).toBe(' ab c');
  });
});
