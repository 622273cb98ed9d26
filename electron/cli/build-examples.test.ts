/**
 * The shipped examples, built as a user builds them (`loopstudio build`), with the test kernel and
 * boot sector in place of the user's: each image is checked by the filesystem and partition tools
 * (fsck.fat, e2fsck, sfdisk, mtools, debugfs) and booted in QEMU until its line appears on the
 * serial port.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAndExpect, bootTestsMissing, grubLegacyMissing, grubUefiBootMissing } from '../../tests/support/boot';
import { cliOk } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { BOOT_SECTOR_LINE, buildBootSector, buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';
import { fsck } from '../../shared/fs/fat/test-support';

const EXAMPLES = join(__dirname, '../../examples');
const skip = bootTestsMissing() ?? missingTools('grub-mkimage', 'sfdisk', 'fsck.fat', 'e2fsck', 'mdir', 'debugfs');
const noUefi = grubUefiBootMissing();
const noLegacy = grubLegacyMissing();

let dir: string;
let cleanup: () => void;
let bootSector: Buffer;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-examples-'));
  if (skip) return;
  // The recipes name kernel.elf and bootsector.bin beside them: ours go there.
  buildTestKernel(dir);
  bootSector = readFileSync(buildBootSector(dir));
  for (const name of readdirSync(EXAMPLES).filter((n) => n.endsWith('.json'))) copyFileSync(join(EXAMPLES, name), join(dir, name));
});
afterAll(() => cleanup());

/** A partition of an image as its own file, for the fsck tools. */
function extract(image: string, startSector: number, name: string): string {
  const out = join(dir, name);
  writeFileSync(out, readFileSync(image).subarray(startSector * 512));
  return out;
}

function sfdiskJson(image: string) {
  return JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable;
}

async function build(name: string): Promise<{ image: string; result: any }> {
  const image = join(dir, name.replace(/\.json$/, '.img'));
  const result = (await cliOk('build', join(dir, name), '-o', image, '--json')).json();
  expect(result.image).toBe(image);
  return { image, result };
}

describe.skipIf(skip)(`examples/ built with loopstudio build and booted in QEMU${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it.skipIf(noLegacy)(
    'floppy-fat12-grub-legacy: a FAT12 floppy fsck.fat accepts, GRUB legacy in sector 0, the kernel boots',
    async () => {
      const { image, result } = await build('floppy-fat12-grub-legacy.json');
      expect(result.bootloaderResult).toMatchObject({ loader: 'grub-legacy', device: '(fd0)' });
      const report = fsck(runTool, image);
      expect(report.problems).toEqual([]);
      expect(report.status).toBe(0);
      const listing = runToolOk('mdir', ['-/', '-b', '-i', image, '::/boot']).stdout;
      expect(listing).toMatch(/::\/boot\/grub\/stage2/);
      expect(listing).toMatch(/::\/boot\/grub\/menu\.lst/);
      expect(listing).toMatch(/::\/boot\/kernel\.elf/);
      const boot = await bootAndExpect(image, KERNEL_LINE);
      expect(boot.commandLine).toContain('if=floppy');
      expect(boot.output).toContain('GNU GRUB  version 0.97');
      expect(boot.matched).toBe(true);
    },
    60_000,
  );

  it.skipIf(noLegacy)(
    'floppy-ext2-grub-legacy (the article’s): e2fsck-clean ext2 floppy, GRUB legacy boots the kernel',
    async () => {
      const { image } = await build('floppy-ext2-grub-legacy.json');
      const e2fsck = runTool('e2fsck', ['-fn', image]);
      expect(e2fsck.status, e2fsck.stdout).toBe(0);
      expect(runToolOk('debugfs', ['-R', 'ls /boot/grub', image]).stdout).toMatch(/stage1.*stage2.*menu\.lst/s);
      const boot = await bootAndExpect(image, KERNEL_LINE);
      expect(boot.output).toContain('Filesystem type is ext2fs, using whole disk');
      expect(boot.matched).toBe(true);
    },
    60_000,
  );

  it('disk-fat32-grub2: an MBR sfdisk accepts, a FAT32 partition at 2048 fsck.fat accepts, GRUB 2 boots the kernel', async () => {
    const { image, result } = await build('disk-fat32-grub2.json');
    expect(result.bootloaderResult.core.prefix).toBe('(hd0,msdos1)/boot/grub');
    expect(runTool('sfdisk', ['-V', image]).status).toBe(0);
    const table = sfdiskJson(image);
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0]).toMatchObject({ start: 2048, bootable: true });
    const report = fsck(runTool, extract(image, 2048, 'fat32-part.img'));
    expect(report.problems).toEqual([]);
    expect(runToolOk('mdir', ['-b', '-i', `${image}@@${2048 * 512}`, '::/boot/grub/i386-pc']).stdout).toMatch(/multiboot\.mod/);
    const boot = await bootAndExpect(image, KERNEL_LINE);
    expect(boot.commandLine).not.toContain('if=floppy');
    expect(boot.matched).toBe(true);
  }, 60_000);

  it('disk-ext2-grub2-sector63: the article’s disk (partition at 63), core.img in the 31 KiB gap, e2fsck-clean, boots', async () => {
    const { image, result } = await build('disk-ext2-grub2-sector63.json');
    expect(result.bootloaderResult.core.bytes).toBeLessThanOrEqual(62 * 512);
    expect(runTool('sfdisk', ['-V', image]).status).toBe(0);
    expect(sfdiskJson(image).partitions[0]).toMatchObject({ start: 63, type: '83' });
    const e2fsck = runTool('e2fsck', ['-fn', extract(image, 63, 'ext2-part.img')]);
    expect(e2fsck.status, e2fsck.stdout).toBe(0);
    expect(result.volumes[0]).toMatchObject({ fs: 'ext2', startSector: 63 });
    const boot = await bootAndExpect(image, KERNEL_LINE);
    expect(boot.matched).toBe(true);
  }, 60_000);

  it.skipIf(noUefi)(
    'disk-gpt-grub2-uefi-bios: one GPT image that boots with UEFI (OVMF) and with BIOS, sgdisk -v and fsck.fat clean',
    async () => {
      const { image, result } = await build('disk-gpt-grub2-uefi-bios.json');
      expect(result.bootloaderResult).toMatchObject({
        firmware: 'both',
        efi: { path: '/EFI/BOOT/BOOTX64.EFI', prefix: '/boot/grub' },
        core: { prefix: '(hd0,gpt2)/boot/grub' },
      });
      expect(runToolOk('sgdisk', ['-v', image]).stdout).toMatch(/No problems found/);
      const esp = sfdiskJson(image).partitions[1];
      expect(esp.type).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
      const report = fsck(runTool, extract(image, esp.start, 'esp-part.img'));
      expect(report.problems).toEqual([]);
      // mtools sees the loader where UEFI firmware looks for it, byte for byte what grub-mkimage made.
      const copy = join(dir, 'BOOTX64.EFI');
      runToolOk('mcopy', ['-n', '-i', `${image}@@${esp.start * 512}`, '::/EFI/BOOT/BOOTX64.EFI', copy]);
      expect(readFileSync(copy).subarray(0, 2).toString()).toBe('MZ');
      expect(readFileSync(copy).length).toBe(result.bootloaderResult.efi.bytes);
      const uefi = await bootAndExpect(image, KERNEL_LINE, 60, '--uefi');
      expect(uefi.commandLine).toContain('if=pflash');
      expect(uefi.matched, uefi.output).toBe(true);
      const bios = await bootAndExpect(image, KERNEL_LINE);
      expect(bios.commandLine).not.toContain('pflash');
      expect(bios.matched, bios.output).toBe(true);
    },
    120_000,
  );

  it('floppy-boot-sector: the boot sector around the FAT12 BPB, still a clean FAT12, and its line on the serial port', async () => {
    const { image } = await build('floppy-boot-sector.json');
    const sector0 = readFileSync(image).subarray(0, 512);
    expect(sector0.subarray(0, 3).equals(bootSector.subarray(0, 3))).toBe(true);
    expect(sector0.subarray(62).equals(bootSector.subarray(62))).toBe(true);
    expect(sector0.subarray(3, 62).equals(bootSector.subarray(3, 62))).toBe(false);
    const report = fsck(runTool, image);
    expect(report.problems).toEqual([]);
    expect(runToolOk('minfo', ['-i', image, '::']).stdout).toMatch(/disk label="MYBOOT/);
    const boot = await bootAndExpect(image, BOOT_SECTOR_LINE);
    expect(boot.matched).toBe(true);
  }, 60_000);
});
