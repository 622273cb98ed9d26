/**
 * What a file to boot is, from its headers (boot-target.ts): the test kernel (a 32-bit multiboot
 * ELF, built with nasm and ld), and headers as the ELF and Linux boot protocol specifications lay
 * them out; the kernels a GRUB menu names.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/support/host';
import { buildTestKernel, testProgramsMissing } from '../../tests/support/test-kernel';
import { inspectKernel, menuKernels, sixtyFourBit } from './boot-target';

function elf(bits: 32 | 64, machine: number): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, 1, 1]);
  bytes[18] = machine & 0xff;
  return bytes;
}

/** A bzImage's setup header: "HdrS" at 0x202, the protocol at 0x206, xloadflags at 0x236. */
function bzImage(protocol: number, xloadflags: number): Uint8Array {
  const bytes = Buffer.alloc(1024);
  bytes.write('HdrS', 0x202, 'latin1');
  bytes.writeUInt16LE(protocol, 0x206);
  bytes.writeUInt16LE(xloadflags, 0x236);
  return bytes;
}

describe('inspectKernel', () => {
  it('reads ELF class and machine, and finds a multiboot header', () => {
    expect(inspectKernel(elf(64, 62))).toEqual({ kind: 'elf', bits: 64, machine: 'x86-64', multiboot: false });
    expect(inspectKernel(elf(32, 3))).toEqual({ kind: 'elf', bits: 32, machine: 'x86', multiboot: false });
    expect(sixtyFourBit(inspectKernel(elf(64, 62)), 'k')).toBe('k is an x86-64 ELF kernel');
    expect(sixtyFourBit(inspectKernel(elf(32, 3)), 'k')).toBeNull();
  });

  it("reads a Linux kernel's boot protocol: 64-bit only with XLF_KERNEL_64 (protocol 2.12 and later)", () => {
    expect(inspectKernel(bzImage(0x020f, 1))).toEqual({ kind: 'linux', bits64: true });
    expect(inspectKernel(bzImage(0x020f, 0))).toEqual({ kind: 'linux', bits64: false });
    expect(inspectKernel(bzImage(0x020a, 1))).toEqual({ kind: 'linux', bits64: false });
    expect(sixtyFourBit(inspectKernel(bzImage(0x020f, 1)), '/boot/vmlinuz')).toBe('/boot/vmlinuz is a 64-bit Linux kernel');
  });

  it('takes anything else for what it is (a disk image, a raw binary)', () => {
    const sector = new Uint8Array(512);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    expect(inspectKernel(sector)).toEqual({ kind: 'other', multiboot: false });
    expect(inspectKernel(new Uint8Array(0))).toEqual({ kind: 'other', multiboot: false });
  });

  describe.skipIf(testProgramsMissing())('the test kernel', () => {
    let dir: string;
    let cleanup: () => void;
    beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-boot-target-')));
    afterAll(() => cleanup());
    it('is a 32-bit x86 ELF with a multiboot header', () => {
      expect(inspectKernel(readFileSync(buildTestKernel(dir)))).toEqual({ kind: 'elf', bits: 32, machine: 'x86', multiboot: true });
    });
  });
});

describe('menuKernels', () => {
  it('lists the kernels of grub.cfg and menu.lst entries, device prefixes dropped, each once', () => {
    const cfg = [
      "menuentry 'Debian' {",
      '\tlinux (hd0,msdos1)/boot/vmlinuz-6.1.0-57-amd64 root=/dev/sda1 console=ttyS0',
      '\tinitrd /boot/initrd.img',
      '}',
      'menuentry os { multiboot2 /boot/os.elf }',
      '  multiboot   /boot/kernel.elf arg',
      '\tlinux16 /boot/memtest86+.bin',
      'title old',
      '\tkernel (hd0,0)/boot/kernel.bin',
      '\tlinux /boot/vmlinuz-6.1.0-57-amd64 quiet',
    ].join('\n');
    expect(menuKernels(cfg)).toEqual(['/boot/vmlinuz-6.1.0-57-amd64', '/boot/kernel.elf', '/boot/memtest86+.bin', '/boot/kernel.bin']);
  });
});
